"""The command line: ``asyncexch demo``, ``asyncexch sim`` and ``asyncexch watch`` (also
``python -m asyncexch``)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._watch import CATEGORIES, add_watch, category_named, watch_main
from .errors import ExchangeError

if TYPE_CHECKING:  # the demo needs the "cli" extra (rich, starlette): imported when it runs
    from rich.console import Console
    from rich.table import Table

    from ._demo import DemoOptions, DemoSummary

__all__ = ["main"]

_VENUES = ("bybit", "chainup")
_SIM_KEY, _SIM_SECRET = "sim-key", "sim-secret"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in ``argv``; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.orders < 1 or args.rate < 1 or not 0 <= args.faults <= 1 or args.jitter < 0:
            parser.error("--orders and --rate must be >= 1, --faults in [0, 1], --jitter >= 0")
        try:
            args.categories = _parse_categories(args.category)
        except ValueError as error:
            parser.error(f"--category: {error}")
        _need("cli", "asyncexch demo", "rich", "starlette", "uvicorn")
        return _demo(args)
    if args.command == "watch":
        if args.seconds is not None and not args.seconds > 0:
            parser.error("--seconds must be > 0")
        _need("cli", "asyncexch watch", "rich", "starlette", "uvicorn")
        _need("stream", "asyncexch watch", "websockets")
        return watch_main(args)
    if not 0 <= args.faults <= 1 or args.settlement_delay < 0 or not 0 <= args.port <= 65535:
        parser.error("--faults must be in [0, 1], --settlement-delay >= 0, --port in 0..65535")
    try:
        limits = _parse_limits(getattr(args, "limits", ""))
    except ValueError as error:
        parser.error(f"--limits: {error}")
    _need("sim", "asyncexch sim", "starlette", "uvicorn")
    return _sim(args, limits)


def _parser() -> argparse.ArgumentParser:
    """The command line: ``--version`` and the commands ``demo``, ``sim`` and ``watch``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="asyncexch",
        description="asyncexch: an asyncio client for exchange trading APIs, and its simulator.",
    )
    parser.add_argument("--version", action="version", version=f"asyncexch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(commands)
    _add_sim(commands)
    add_watch(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``asyncexch demo`` and its options, each with its default."""
    demo = commands.add_parser(
        "demo",
        help="a batch of orders against the Bybit simulator on loopback",
        description="Place a concurrent batch of Advance Earn stake orders (SmartLeverage, or "
        "the categories of --category in turn: a mixed batch) against the embedded Bybit "
        "simulator while it injects faults, wait until they settle, and show what the "
        "exchange saw.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument("--orders", type=int, default=50, help="orders in the batch")
    demo.add_argument("--rate", type=int, default=5, help="place-order limit per second")
    demo.add_argument("--faults", type=float, default=0.1, help="share of requests that fail")
    demo.add_argument("--jitter", type=float, default=0.02, help="most network delay, seconds")
    demo.add_argument("--seed", type=int, default=7, help="seed of the faults drawn")
    demo.add_argument(
        "--category",
        default="SmartLeverage",
        metavar="NAME[,NAME...]",
        help=f"the batch's categories ({', '.join(CATEGORIES)}), or 'all' for a batch "
        "mixing every one",
    )


def _add_sim(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``asyncexch sim`` and its options, each with its default."""
    sim = commands.add_parser(
        "sim",
        help="serve a venue's simulator on a port, for bots in any language",
        description="Serve the Bybit (Advance Earn) or ChainUP (contract v1) simulator over "
        "HTTP until Ctrl-C.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sim.add_argument("--venue", choices=_VENUES, default="bybit", help="which exchange to play")
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=8080, help="port to listen on (0: any free)")
    sim.add_argument("--api-key", default=_SIM_KEY, help="the API key it accepts")
    sim.add_argument("--api-secret", default=_SIM_SECRET, help="that key's secret")
    sim.add_argument("--faults", type=float, default=0.0, help="share of requests that fail")
    sim.add_argument("--seed", type=int, default=0, help="seed of the faults drawn")
    sim.add_argument(
        "--settlement-delay",
        type=float,
        default=1.0,
        help="seconds before an order settles (Bybit: Pending -> Success; ChainUP: a fill)",
    )
    sim.add_argument(
        "--limits",
        default=argparse.SUPPRESS,
        metavar="NAME=N/SECONDS,...",
        help="rate limits by endpoint bucket, e.g. place_order=10/1 (default: the venue's own)",
    )
    sim.add_argument(
        "--verbose", action="store_true", help="log every request the simulator answers"
    )


def _need(extra: str, what: str, *modules: str) -> None:
    """Stop with the install command when an optional dependency is missing."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise SystemExit(
                f"{what} needs the '{extra}' extra ({module} is missing): "
                f"pip install 'asyncexch[{extra}]'"
            ) from None


def _parse_limits(text: str) -> dict[str, tuple[int, float]]:
    """``place_order=10/1,order=20/1`` as ``{"place_order": (10, 1.0), ...}``."""
    limits: dict[str, tuple[int, float]] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, rate = part.partition("=")
        count, _, per = rate.partition("/")
        try:
            limit, seconds = int(count), float(per or "1")
        except ValueError:
            raise ValueError(f"{part!r} is not NAME=N/SECONDS") from None
        if not name or limit < 1 or not 0 < seconds < 86_400:
            raise ValueError(f"{part!r}: N must be >= 1 and SECONDS in (0, 86400)")
        limits[name.strip()] = (limit, seconds)
    return limits


def _parse_categories(text: str) -> tuple[str, ...]:
    """``DualAssets,SmartLeverage`` (any case) or ``all`` as the categories' wire names."""
    if text.strip().lower() == "all":
        return tuple(CATEGORIES)
    names = [piece.strip() for piece in text.split(",") if piece.strip()]
    try:
        chosen = [category_named(name) for name in names]
    except ValueError:
        chosen = []
    if not chosen:
        raise ValueError(f"{text!r}: name some of {', '.join(CATEGORIES)}, or 'all'")
    return tuple(dict.fromkeys(chosen))


def _demo(args: argparse.Namespace) -> int:
    """Run the demo with progress bars and show what the exchange saw; 0 when it is healthy."""
    from rich.console import Console
    from rich.markup import escape

    from ._demo import DemoOptions

    options = DemoOptions(
        orders=args.orders,
        rate=args.rate,
        faults=args.faults,
        jitter=args.jitter,
        seed=args.seed,
        categories=args.categories,
    )
    console = Console()
    kind = " + ".join(options.categories)
    console.print(
        f"[bold]asyncexch demo[/]: {options.orders} {kind} stake orders at "
        f"{options.rate}/s against the simulator on loopback, "
        f"{options.faults:.0%} of requests faulty, 0-{options.jitter * 1000:.0f} ms jitter"
    )
    try:
        summary = _run_with_progress(options, console)
    except ExchangeError as error:  # e.g. the products or the quote failed every attempt
        console.print(f"[red]PROBLEM[/]: the demo stopped: {escape(str(error))}")
        return 1
    console.print(_summary_table(summary))
    console.print(
        "Faults hit every kind of request (quotes and order queries too); a place-order that "
        "met one is sent again under the same orderLinkId, and when the first attempt had in "
        "fact placed the order the exchange refuses the reused id and the client looks the "
        "order up. Settling takes longer than placing: each order settles a second after it "
        f"is placed, and the client asks about {options.orders} orders at the order-query "
        "limit (10/s).",
        style="dim",
    )
    if summary.healthy:
        console.print("[green]OK[/]: every order placed exactly once, no rate limit broken.")
        return 0
    console.print("[red]PROBLEM[/]: see the table above.")
    return 1


def _run_with_progress(options: DemoOptions, console: Console) -> DemoSummary:
    """Run the demo, advancing a bar as each order is placed and as each settles."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ._demo import run_demo

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        placing = progress.add_task("placing ", total=options.orders)
        settling = progress.add_task("settling", total=options.orders)
        return asyncio.run(
            run_demo(
                options,
                on_placed=lambda index, result: progress.advance(placing),
                on_settled=lambda: progress.advance(settling),
            )
        )


def _summary_table(summary: DemoSummary) -> Table:
    """What the exchange saw, one row a figure."""
    from rich.table import Table

    table = Table(title="What the exchange saw", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in (
        ("orders in the batch", summary.orders),
        ("acknowledged / failed", f"{summary.acknowledged} / {summary.failed}"),
        ("settled", summary.settled),
        ("orders held by the exchange", summary.orders_on_exchange),
        *(
            (f"  of them {name}", held)
            for name, held in summary.held_by_category.items()
            if len(summary.held_by_category) > 1
        ),
        ("duplicate orders", summary.duplicate_orders),
        ("rate-limit rejections (10006, 403)", summary.rate_limit_rejections),
        ("faults injected (every request)", summary.faults_injected),
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
    return table


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: any free one), before anything says where:
    a port in use is an error, not a banner, and a client that reads the banner and connects
    at once finds the port accepting (bound alone, it would be refused until the server got
    round to listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(socket.SOMAXCONN)
    except OSError as error:
        listener.close()
        raise SystemExit(
            f"asyncexch sim: cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return listener


def _sim(args: argparse.Namespace, limits: dict[str, tuple[int, float]]) -> int:
    import uvicorn

    from .sim import BybitSimulator, ChainupSimulator, Faults
    from .sim._serve import dropping

    faults = Faults(rate=args.faults, seed=args.seed)
    simulator: BybitSimulator | ChainupSimulator
    try:
        if args.venue == "chainup":
            simulator = ChainupSimulator(
                limits=limits or None, fill_delay=args.settlement_delay, faults=faults
            )
        else:
            simulator = BybitSimulator(
                limits=limits or None, settlement_delay=args.settlement_delay, faults=faults
            )
    except ValueError as error:  # an endpoint the venue does not have
        raise SystemExit(f"asyncexch sim: {error}") from None
    simulator.add_account(args.api_key, args.api_secret)
    listener = _listening_socket(args.host, args.port)
    host, port = listener.getsockname()[:2]
    name = "ChainUP contract" if args.venue == "chainup" else "Bybit Advance Earn"
    print(
        f"{name} simulator on http://{host}:{port} for api key {args.api_key!r} "
        "(secret from --api-secret); Ctrl-C stops it",
        flush=True,
    )
    config = uvicorn.Config(
        dropping(simulator.app),
        log_level="info" if args.verbose else "warning",
        access_log=args.verbose,
        lifespan="off",
    )
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
    return 0
