"""The command line: ``python -m asyncexch demo``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from ._demo import run_demo

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in ``argv``; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m asyncexch")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="place a batch of orders against an offline exchange")
    demo.add_argument("--orders", type=int, default=20, help="orders in the batch (default 20)")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    print(f"Placing {args.orders} SmartLeverage stake orders against the offline exchange...")
    summary = asyncio.run(run_demo(args.orders))
    rows = [
        ("orders in the batch", str(summary.orders)),
        ("acknowledged", str(summary.acknowledged)),
        ("settled (final status)", str(summary.settled)),
        ("orders held by the exchange", str(summary.orders_on_exchange)),
        ("duplicate ids refused by the exchange", str(summary.duplicates_refused)),
        ("rate-limit rejections at the exchange", str(summary.rate_limit_rejections)),
        ("placement wall time", f"{summary.elapsed:.2f} s"),
        (
            "sustained rate after the first burst",
            f"{summary.achieved_rate:.2f}/s (limit {summary.limit}/s)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    healthy = (
        summary.acknowledged == summary.orders == summary.orders_on_exchange
        and summary.rate_limit_rejections == 0
    )
    print(
        "OK: every order placed exactly once, no limit broken." if healthy else "PROBLEM: see above"
    )
    return 0 if healthy else 1
