"""RedisIdRegistry: which orderLinkId an intent was placed under, and how it ended, shared by
processes and kept across restarts."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio
import redis.exceptions

from asyncexch import new_order_link_id, order_link_id_for
from asyncexch._registry import IdRecord, RedisIdRegistry
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder
from asyncexch.errors import IdRegistryUnavailable, LimiterUnavailable, Outcome
from asyncexch.sim import BybitSimulator, SimTransport
from tests.builders.bybit import stake_orders
from tests.redis_testing import (  # noqa: F401 (the fixtures)
    RedisServer,
    redis_client_fixture,
    redis_server_fixture,
    until,
)

pytestmark = [pytest.mark.integration]

MakeRegistry = Callable[..., RedisIdRegistry]


@pytest.fixture
async def make_registry(redis_server: RedisServer) -> AsyncIterator[MakeRegistry]:
    registries: list[RedisIdRegistry] = []

    def build(**kwargs: object) -> RedisIdRegistry:
        registry = RedisIdRegistry(redis_server.url, **kwargs)  # type: ignore[arg-type]
        registries.append(registry)
        return registry

    yield build
    for registry in registries:
        await registry.aclose()


async def test_record_mark_and_lookup(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    assert await registry.lookup("rebalance-1") is None
    link = new_order_link_id()
    recorded = await registry.record("rebalance-1", link)
    assert (recorded.intent_key, recorded.order_link_id, recorded.status) == (
        "rebalance-1",
        link,
        "pending",
    )
    assert recorded.order_id is None
    assert recorded.recorded_at == recorded.updated_at > 1_600_000_000

    marked = await registry.mark(link, "acknowledged", order_id="1234")
    assert isinstance(marked, IdRecord)
    assert (marked.status, marked.order_id, marked.order_link_id) == ("acknowledged", "1234", link)
    assert marked.updated_at >= marked.recorded_at == recorded.recorded_at
    assert await registry.lookup("rebalance-1") == marked
    assert await registry.mark("never-recorded", "failed") is None
    with pytest.raises(ValueError, match="status"):
        await registry.mark(link, "placed")  # type: ignore[arg-type]


async def test_the_first_id_recorded_for_an_intent_stays(make_registry: MakeRegistry) -> None:
    processes = [make_registry() for _ in range(4)]
    links = [new_order_link_id() for _ in range(4)]
    records = await asyncio.gather(
        *(
            registry.record("intent-7", link)
            for registry, link in zip(processes, links, strict=True)
        )
    )
    # Exactly one id won, and every process was told which.
    assert len({record.order_link_id for record in records}) == 1
    assert records[0].order_link_id in links
    # The losers' ids were never registered.
    losers = [link for link in links if link != records[0].order_link_id]
    assert [await processes[0].mark(link, "failed") for link in losers] == [None] * 3


async def test_records_expire_after_their_ttl(
    make_registry: MakeRegistry, redis_client: redis.asyncio.Redis
) -> None:
    registry = make_registry(ttl=0.3, prefix="bot:ids:")
    link = new_order_link_id()
    await registry.record("short-lived", link)
    assert sorted(await redis_client.keys("*")) == [
        "bot:ids:intent:short-lived",
        f"bot:ids:link:{link}",
    ]
    assert 0 < await redis_client.pttl("bot:ids:intent:short-lived") <= 300

    async def gone() -> bool:
        return await registry.lookup("short-lived") is None

    await until(gone, every=0.05)
    assert await redis_client.keys("*") == []


async def test_a_restarted_bot_asks_before_placing(make_registry: MakeRegistry) -> None:
    sim = BybitSimulator()
    sim.add_account("registry-key", "registry-secret")

    def order() -> StakeOrder:  # a random orderLinkId on every run of the bot
        return stake_orders(sim, 1)[0]

    async def run_bot() -> str:
        registry = make_registry()
        async with BybitClient(
            "registry-key",
            "registry-secret",
            base_url="http://sim",
            transport=SimTransport(sim.app),
        ) as client:
            fresh = order()
            record = await registry.record("stake-btc-2026-11-21", fresh.order_link_id)
            if record.order_link_id != fresh.order_link_id:
                return f"already placed as {record.order_link_id} ({record.status})"
            ack = await client.advance_earn.place_order(fresh)
            assert isinstance(ack, OrderAck)
            await registry.mark(ack.order_link_id, "acknowledged", order_id=ack.order_id)
            return "placed"

    assert await run_bot() == "placed"
    second = await run_bot()  # the restarted bot
    assert second.startswith("already placed as ") and second.endswith("(acknowledged)")
    assert len(sim.orders) == 1


async def test_an_unreachable_registry_raises_a_typed_error(
    redis_server: RedisServer, make_registry: MakeRegistry
) -> None:
    registry = make_registry()
    redis_server.stop(signal.SIGKILL)
    link = order_link_id_for("intent-9")
    with pytest.raises(
        IdRegistryUnavailable, match=r"^the id registry's Redis cannot be reached \("
    ):
        await registry.record("intent-9", link)
    with pytest.raises(IdRegistryUnavailable) as looked_up:
        await registry.lookup("intent-9")
    # Code written when the registry raised LimiterUnavailable still catches it.
    with pytest.raises(LimiterUnavailable) as marked:
        await registry.mark(link, "unknown")

    assert type(marked.value) is IdRegistryUnavailable
    assert looked_up.value.outcome is Outcome.NOT_PROCESSED
    assert isinstance(looked_up.value.__cause__, redis.exceptions.ConnectionError)
