"""``asyncexch watch``: a category's live Advance Earn offers as a table refreshed in place.

It reads the client's offer stream (``earn.<category>.watch_quotes``) against Bybit
(``--host mainnet|testnet``: public, no key) or the embedded simulator on a loopback port (the
default, so it works offline; the simulator's swinging prices are pushed every second). Each
product is a row with its latest offer; a :class:`~asyncexch.bybit.QuoteGap` (the connection
was lost and resumed) is listed under the table, and rows received before the last gap are
marked, since offers may have been missed then. Stops on Ctrl-C, or after ``--seconds``.

Needs the "cli" extra (rich, and the simulator's starlette and uvicorn) and the "stream" one
(websockets).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._convert import datetime_from_millis
from .bybit import (
    MAINNET,
    TESTNET,
    BybitClient,
    DiscountBuyQuote,
    DoubleWinQuote,
    DualAssetsQuote,
    LiveQuote,
    Quote,
    QuoteGap,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from .sim import BybitSimulator

__all__ = [
    "CATEGORIES",
    "HOSTS",
    "WatchOptions",
    "add_watch",
    "category_named",
    "run_watch",
    "watch_main",
]

#: The categories ``watch`` and ``demo`` take, in the order shown: each one a key of
#: ``BybitClient.advance_earn.categories`` (the tests hold the two lists together).
CATEGORIES = ("SmartLeverage", "DualAssets", "DoubleWin", "DiscountBuy")
#: The REST hosts ``--host`` names (the stream host follows each).
HOSTS = {"mainnet": MAINNET, "testnet": TESTNET}
#: Gaps listed under the table.
_GAPS_SHOWN = 3
#: Beyond this an offer's time left is shown as "never": no venue quotes for a year.
_NEVER_EXPIRES = timedelta(days=365)


def add_watch(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``asyncexch watch`` and its options, each with its default."""
    watch = commands.add_parser(
        "watch",
        help="live Advance Earn offers as a table, from Bybit or the simulator",
        description="Show a category's live Advance Earn offers (Bybit's public stream "
        "/v5/public/fp) as a table refreshed in place, with the gaps after a reconnection, "
        "until Ctrl-C.",
    )
    watch.add_argument(
        "--category",
        type=_category,
        default="DualAssets",
        help=f"the category, in any case: {', '.join(CATEGORIES)} (default: %(default)s)",
    )
    watch.add_argument(
        "--product",
        action="append",
        metavar="ID",
        help="a product to show, repeatable (default: every product)",
    )
    where = watch.add_mutually_exclusive_group()
    where.add_argument(
        "--host",
        choices=sorted(HOSTS),
        help="watch Bybit itself (public, no key) (default: the simulator)",
    )
    where.add_argument(
        "--sim",
        action="store_true",
        help="watch the embedded simulator on a loopback port, its prices pushed every second "
        "(the default when no --host is given)",
    )
    watch.add_argument(
        "--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)"
    )


def category_named(text: str) -> str:
    """The Advance Earn category ``text`` names, in any case, as its wire name (``dualassets``
    -> ``DualAssets``); :class:`ValueError` when it names none."""
    wanted = text.strip().lower()
    for name in CATEGORIES:
        if name.lower() == wanted:
            return name
    raise ValueError(f"{text!r}: name one of {', '.join(CATEGORIES)}")


def _category(text: str) -> str:
    try:
        return category_named(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def watch_main(args: argparse.Namespace) -> int:
    """Run ``asyncexch watch`` with parsed ``args``; 0 when it stopped as asked (Ctrl-C or
    ``--seconds``)."""
    from rich.console import Console

    options = WatchOptions(
        category=args.category,
        products=tuple(args.product) if args.product else None,
        host=HOSTS[args.host] if args.host else None,
        seconds=args.seconds,
    )
    console = Console()
    try:
        asyncio.run(run_watch(options, console))
    except KeyboardInterrupt:
        console.print("stopped")
    return 0


@attrs.frozen
class WatchOptions:
    """What to watch: the ``category``, its ``products`` (``None``: every one), the ``host``
    (``None``: the embedded simulator) and for how many ``seconds`` (``None``: until
    Ctrl-C)."""

    category: str
    products: tuple[str, ...] | None = None
    host: str | None = None
    seconds: float | None = None


@attrs.define
class Board:
    """The latest offer per product and the gaps seen, drawn as a table."""

    category: str
    rows: dict[str, LiveQuote[Any]] = attrs.Factory(dict)
    gaps: list[QuoteGap] = attrs.Factory(list)

    def take(self, item: LiveQuote[Any] | QuoteGap) -> None:
        """Keep a pushed quote as its product's row, or a gap."""
        if isinstance(item, QuoteGap):
            self.gaps.append(item)
        else:
            self.rows[item.product_id] = item

    def table(self, now: datetime) -> Table:
        """The table at ``now`` (the venue's time, for the offers' time left)."""
        from rich.table import Table

        headers, cells = _COLUMNS[self.category]
        table = Table(title=f"{self.category} live offers", caption=self._caption())
        for header in (*headers, "expires in", "received (UTC)"):
            table.add_column(header, justify="left" if header == "product" else "right")
        last_gap = self.gaps[-1].resumed_at if self.gaps else None
        for product_id in sorted(self.rows, key=_product_order):
            live = self.rows[product_id]
            left = live.expires_in(now)
            received = f"{live.received_at:%H:%M:%S}"
            stale = last_gap is not None and live.received_at < last_gap
            table.add_row(
                *cells(live.quote),
                _time_left(left),
                f"{received} (before gap)" if stale else received,
                style="dim" if stale else None,
            )
        return table

    def _caption(self) -> str:
        if not self.gaps:
            return "no gap: every push since the start was received"
        lines = [
            f"GAP {gap.lost_at:%H:%M:%S} -> {gap.resumed_at:%H:%M:%S} "
            f"({gap.reconnects} reconnect(s): {gap.reason}); offers may have been missed"
            for gap in self.gaps[-_GAPS_SHOWN:]
        ]
        return "\n".join(lines)


def _time_left(left: timedelta | None) -> str:
    """An offer's time left; ``never`` for one that does not expire (DiscountBuy's
    ``expiredAt "0"``, read as the far future)."""
    if left is None:
        return "-"
    if left > _NEVER_EXPIRES:
        return "never"
    return f"{left.total_seconds():.0f} s"


def _product_order(product_id: str) -> tuple[int, str]:
    return (int(product_id), "") if product_id.isdigit() else (0, product_id)


def _text(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:f}"


def _smart_leverage(quote: Quote) -> Sequence[str]:
    return (
        quote.product_id,
        _text(quote.current_price),
        _text(quote.breakeven_price),
        _text(quote.max_investment_amount),
    )


def _dual_assets(quote: DualAssetsQuote) -> Sequence[str]:
    def best(offers: Sequence[Any]) -> str:
        top = max(offers, key=lambda offer: offer.apy_e8, default=None)
        return "-" if top is None else f"{top.select_price:f} @ {top.apy:.2%}"

    return (
        quote.product_id,
        _text(quote.current_price),
        best(quote.buy_low),
        best(quote.sell_high),
        str(len(quote.buy_low) + len(quote.sell_high)),
    )


def _double_win(quote: DoubleWinQuote) -> Sequence[str]:
    return (
        quote.product_id,
        _text(quote.current_price),
        _text(quote.leverage),
        _text(quote.max_investment_amount),
    )


def _discount_buy(quote: DiscountBuyQuote) -> Sequence[str]:
    best = max(quote.offers, key=lambda offer: offer.knockout_coupon_e8, default=None)
    if best is None:
        return (quote.product_id, "-", "-", "-", "-", "0")
    return (
        quote.product_id,
        _text(best.current_price),
        _text(best.purchase_price),
        _text(best.knockout_price),
        f"{best.knockout_coupon:.2%}",
        str(len(quote.offers)),
    )


_COLUMNS: dict[str, tuple[tuple[str, ...], Callable[[Any], Sequence[str]]]] = {
    "SmartLeverage": (("product", "price", "breakeven", "max amount"), _smart_leverage),
    "DualAssets": (
        ("product", "price", "buy-low @ APY", "sell-high @ APY", "offers"),
        _dual_assets,
    ),
    "DoubleWin": (("product", "price", "max leverage", "max amount"), _double_win),
    "DiscountBuy": (
        ("product", "price", "purchase", "knock-out", "best coupon", "offers"),
        _discount_buy,
    ),
}


async def run_watch(options: WatchOptions, console: Console) -> Board:
    """Show the live offers until cancelled (Ctrl-C) or ``options.seconds`` pass; the board
    as it was at the end."""
    from rich.live import Live

    board = Board(options.category)
    async with contextlib.AsyncExitStack() as stack:
        base_url = options.host or await stack.enter_async_context(_simulator())
        client = await stack.enter_async_context(BybitClient(base_url=base_url))
        reader = client.advance_earn.categories[options.category]
        quotes = reader.watch_quotes(options.products)
        stack.push_async_callback(quotes.aclose)
        console.print(f"watching {options.category} offers on {client.advance_earn.stream().url}")

        def now() -> datetime:  # the venue's time as the client knows it
            return datetime_from_millis(client.session.server_time.now_ms())

        with Live(board.table(now()), console=console, refresh_per_second=4) as live:

            async def show() -> None:
                async for item in quotes:
                    board.take(item)
                    live.update(board.table(now()))

            with contextlib.suppress(asyncio.TimeoutError):  # --seconds passed
                await asyncio.wait_for(show(), options.seconds)
    return board


@contextlib.asynccontextmanager
async def _simulator() -> AsyncIterator[str]:
    """The embedded Bybit simulator on a loopback port, its prices pushed every second."""
    from .sim import BybitSimulator, SimServer

    simulator = BybitSimulator()
    async with SimServer(simulator.app) as server:
        mover = asyncio.ensure_future(_push_every_second(simulator))
        try:
            yield server.url
        finally:
            mover.cancel()
            await asyncio.gather(mover, return_exceptions=True)


async def _push_every_second(simulator: BybitSimulator) -> None:
    while True:
        await simulator.clock.sleep(1.0)
        simulator.offer_stream.moved()
