"""The command line: ``python -m asyncexch demo`` and ``python -m asyncexch sim``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in ``argv``; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m asyncexch")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a batch of orders against the simulator on loopback")
    demo.add_argument("--orders", type=int, default=50, help="orders in the batch (default 50)")
    demo.add_argument("--rate", type=int, default=5, help="place-order limit per second (5)")
    demo.add_argument("--faults", type=float, default=0.1, help="share of faulty requests (0.1)")
    demo.add_argument("--jitter", type=float, default=0.02, help="max network jitter, s (0.02)")
    demo.add_argument("--seed", type=int, default=7, help="fault seed (7)")
    sim = commands.add_parser("sim", help="serve the Bybit simulator on a loopback port")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--api-key", default="sim-key")
    sim.add_argument("--api-secret", default="sim-secret", help="HMAC secret (sim-secret)")
    sim.add_argument("--faults", type=float, default=0.0, help="share of faulty requests")
    sim.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.orders < 1 or args.rate < 1 or not 0 <= args.faults <= 1 or args.jitter < 0:
            parser.error("--orders and --rate must be >= 1, --faults in [0, 1], --jitter >= 0")
        return _demo(args)
    return _sim(args)


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from ._demo import DemoOptions, run_demo

    options = DemoOptions(
        orders=args.orders, rate=args.rate, faults=args.faults, jitter=args.jitter, seed=args.seed
    )
    console = Console()
    console.print(
        f"[bold]asyncexch demo[/]: {options.orders} SmartLeverage stake orders at "
        f"{options.rate}/s against the simulator on loopback, "
        f"{options.faults:.0%} of requests faulty, 0-{options.jitter * 1000:.0f} ms jitter"
    )
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        placing = progress.add_task("placing ", total=options.orders)
        settling = progress.add_task("settling", total=options.orders)
        summary = asyncio.run(
            run_demo(
                options,
                on_placed=lambda index, result: progress.advance(placing),
                on_settled=lambda: progress.advance(settling),
            )
        )
    table = Table(title="What the exchange saw", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in (
        ("orders in the batch", summary.orders),
        ("acknowledged / failed", f"{summary.acknowledged} / {summary.failed}"),
        ("settled", summary.settled),
        ("orders held by the exchange", summary.orders_on_exchange),
        ("duplicate orders", summary.duplicate_orders),
        ("rate-limit rejections (10006, 403)", summary.rate_limit_rejections),
        ("faults injected", summary.faults_injected),
        ("retries (extra place-order requests)", summary.retries),
        ("reused ids refused, then looked up", summary.duplicate_ids_refused),
        ("placement time", f"{summary.placement_seconds:.2f} s"),
        (
            "achieved rate / limit",
            f"{summary.achieved_rate:.2f}/s / {summary.limit}/s "
            f"({summary.achieved_rate / summary.limit:.0%})",
        ),
        (
            "place-order latency p50 / p99",
            f"{summary.latency_p50_ms:.1f} / {summary.latency_p99_ms:.1f} ms",
        ),
    ):
        table.add_row(name, str(value))
    console.print(table)
    if summary.healthy:
        console.print("[green]OK[/]: every order placed exactly once, no rate limit broken.")
        return 0
    console.print("[red]PROBLEM[/]: see the table above.")
    return 1


def _sim(args: argparse.Namespace) -> int:
    import uvicorn

    from .sim import BybitSimulator, Faults
    from .sim._serve import dropping

    simulator = BybitSimulator(faults=Faults(rate=args.faults, seed=args.seed))
    simulator.add_account(args.api_key, args.api_secret)
    print(
        f"Bybit simulator on http://{args.host}:{args.port} for api key {args.api_key!r} "
        "(secret from --api-secret); Ctrl-C stops it"
    )
    uvicorn.run(dropping(simulator.app), host=args.host, port=args.port, log_level="warning")
    return 0
