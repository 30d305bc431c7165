"""The demo's job (what ``make demo`` and ``asyncexch demo`` run), small and in process: a
batch against the simulator on loopback, with faults, placed exactly once and settled."""

from __future__ import annotations

import pathlib
import re

import pytest

from asyncexch._demo import DemoOptions, run_demo


async def test_the_demo_places_every_order_once_and_settles_it() -> None:
    placed: list[int] = []
    settled: list[None] = []
    options = DemoOptions(orders=12, rate=20, faults=0.1, jitter=0.01, seed=7, settlement_delay=0.1)

    summary = await run_demo(
        options,
        on_placed=lambda index, result: placed.append(index),
        on_settled=lambda: settled.append(None),
    )

    assert summary.healthy
    assert (summary.orders, summary.acknowledged, summary.failed, summary.settled) == (
        12,
        12,
        0,
        12,
    )
    assert (summary.orders_on_exchange, summary.duplicate_orders) == (12, 0)
    assert summary.rate_limit_rejections == 0
    assert summary.limit == 20
    assert sorted(placed) == list(range(12))  # progress: one call per order placed
    assert len(settled) == 12  # and per order settled
    assert summary.faults_injected > 0  # seed 7 draws a fault for the 4th request already
    assert 0 <= summary.duplicate_ids_refused <= summary.retries
    assert summary.latency_p50_ms <= summary.latency_p99_ms


def test_make_demo_runs_the_demo_command() -> None:
    """What the smoke tests above and in test_cli.py run is what ``make demo`` runs."""
    makefile = (pathlib.Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo: .*\n\t(.*)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert recipe.group(1) == "$(PY) -m asyncexch demo --category $(CATEGORY)"
    assert re.search(r"^CATEGORY \?= SmartLeverage$", makefile, re.MULTILINE)


async def test_a_mixed_batch_takes_the_categories_in_turn_each_placed_once() -> None:
    placed: dict[int, object] = {}
    options = DemoOptions(
        orders=9,
        rate=20,
        faults=0.1,
        jitter=0.01,
        seed=3,
        settlement_delay=0.1,
        categories=("DualAssets", "SmartLeverage", "DoubleWin", "DiscountBuy"),
    )

    summary = await run_demo(options, on_placed=placed.__setitem__)

    assert summary.healthy
    assert (summary.acknowledged, summary.settled, summary.orders_on_exchange) == (9, 9, 9)
    # Order i is of categories[i % 4]: DualAssets 0, 4 and 8; the others two each.
    assert summary.held_by_category == {
        "DualAssets": 3,
        "SmartLeverage": 2,
        "DoubleWin": 2,
        "DiscountBuy": 2,
    }
    assert [type(placed[i]).__name__ for i in range(5)] == [
        "DualAssetsAck",
        "OrderAck",
        "DoubleWinAck",
        "DiscountBuyAck",
        "DualAssetsAck",
    ]
    assert summary.duplicate_orders == 0 and summary.rate_limit_rejections == 0


def test_the_demo_refuses_a_category_it_cannot_batch() -> None:
    with pytest.raises(ValueError, match="categories must be some of SmartLeverage"):
        DemoOptions(categories=("DoubleLoss",))
    with pytest.raises(ValueError, match="categories must be some of"):
        DemoOptions(categories=())
