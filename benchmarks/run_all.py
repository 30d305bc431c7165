"""Run every benchmark, one process each, and say how long each took.

``python benchmarks/run_all.py --quick`` (what ``make bench`` runs: under 3 minutes on a
2-core machine) or without ``--quick`` for the figures in ``benchmarks/README.md``. Each script
prints its tables and writes ``benchmarks/results/<name>.json``; the exit status is non-zero if
any of them failed.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = ("overhead", "fidelity", "accounts", "scale", "decode", "pipeline_profile")
#: Each script stops by itself well before this; the limit only bounds a hung run.
TIMEOUT = 900


def provenance() -> dict[str, object]:
    """The commit measured, and whether asyncexch/ had uncommitted changes."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "asyncexch_dirty": bool(git("status", "--porcelain", "--", "asyncexch")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the quick version of each")
    parser.add_argument("only", nargs="*", help=f"run only these, of {', '.join(SCRIPTS)}")
    args = parser.parse_args()
    unknown = set(args.only) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}")
    names = args.only or list(SCRIPTS)
    source = provenance()
    print(
        f"{len(names)} benchmarks{' (quick)' if args.quick else ''} of commit {source['commit']}"
        f"{' (asyncexch/ modified)' if source['asyncexch_dirty'] else ''} on "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    took: dict[str, tuple[float, int]] = {}
    started = time.monotonic()
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        command = [sys.executable, str(HERE / f"{name}.py")] + (["--quick"] if args.quick else [])
        began = time.monotonic()
        try:
            status = subprocess.run(command, timeout=TIMEOUT, check=False).returncode
        except subprocess.TimeoutExpired:
            status = -1
            print(f"{name}: stopped after {TIMEOUT} s", flush=True)
        took[name] = (time.monotonic() - began, status)
    total = time.monotonic() - started
    print("\n| benchmark | seconds | status |")
    print("|---|---|---|")
    for name, (seconds, status) in took.items():
        print(f"| {name} | {seconds:.1f} | {'ok' if status == 0 else f'FAILED ({status})'} |")
    print(f"| total | {total:.1f} | |")
    print(f"results in {HERE / 'results'}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "run_all.json").write_text(
        json.dumps(
            {
                "quick": args.quick,
                **source,
                "load_average_1min_end": os.getloadavg()[0],
                "seconds": {name: seconds for name, (seconds, _) in took.items()},
                "status": {name: status for name, (_, status) in took.items()},
                "total_seconds": total,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(status == 0 for _, status in took.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
