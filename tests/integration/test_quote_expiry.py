"""A paced batch longer than its quote's life, over a real loopback socket on both HTTP
stacks: the simulator's quotes live 2.8 s and the client places 5 orders a second, so the
first five orders leave with the quote live and the rest are refused by the client, unsent
(each at its turn, with under 2 s left on the quote)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asyncexch import InvalidRequest, RateLimit
from asyncexch.bybit import OrderAck, StakeOrder
from asyncexch.sim import BybitSimulator
from tests.builders.bybit import SIM_PRODUCT_ID
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "expiry-key"
SECRET = "expiry-secret"


async def test_a_batch_outliving_its_quote_sends_only_the_orders_in_time(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator(quote_ttl=2.8, price_swing=0.0)
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("100000")})
    async with sim_client.bybit(
        sim, KEY, SECRET, limits={"place_order": RateLimit(5), "order": RateLimit(50)}
    ) as client:
        earn = client.advance_earn
        await earn.products()
        quote = await earn.quote(SIM_PRODUCT_ID)
        assert quote.expire_at is not None
        orders = [StakeOrder.from_quote(quote, amount=Decimal(10 + index)) for index in range(8)]

        results = await earn.place_orders(orders)

        assert all(isinstance(result, OrderAck) for result in results[:5])
        for result in results[5:]:
            assert isinstance(result, InvalidRequest) and result.field == "order"
            assert str(result).startswith(
                f"order: its quote expires at {quote.expire_at.isoformat()} (+"
            )
            assert str(result).endswith(
                "an order needs 2 s): build it again from a fresh quote (quote() or live_quote())"
            )
        placed = [info async for info in earn.orders()]
        assert sorted(info.order_link_id for info in placed) == sorted(
            order.order_link_id for order in orders[:5]
        )
