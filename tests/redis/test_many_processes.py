"""Many processes, one API key: four OS processes place 50 orders each through one Redis.

The simulator runs in this process, on a loopback port, with the venue's window at 10/s; each
worker's client believes the same 10/s. Alone, each worker would send 10/s and the four
together 40/s. Sharing the limit through Redis, they meet no refusal and together still run
at 90% or more of the limit.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from asyncexch.sim import BybitSimulator, Faults, SimServer
from tests.redis_testing import (  # noqa: F401 (the fixtures)
    RedisServer,
    redis_server_fixture,
)
from tests.windows import busiest_window, sustained_rate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = Path(__file__).with_name("place_worker.py")
KEY = "many-processes-key"
SECRET = "many-processes-secret"
PROCESSES, ORDERS, LIMIT = 4, 50, 10


async def test_four_processes_share_one_keys_limit_through_redis(
    redis_server: RedisServer,
) -> None:
    sim = BybitSimulator(
        limits={"place_order": (LIMIT, 1.0)}, faults=Faults(latency=(0.0, 0.01), seed=3)
    )
    sim.add_account(KEY, SECRET)
    async with SimServer(sim.app) as server:
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                server.url,
                redis_server.url,
                str(index),
                str(ORDERS),
                str(LIMIT),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for index in range(PROCESSES)
        ]
        try:
            for worker in workers:  # every process is up before any order goes
                assert worker.stdout is not None
                line = await asyncio.wait_for(worker.stdout.readline(), 60)
                assert line == b"ready\n", line
            outputs = await asyncio.wait_for(
                asyncio.gather(*(worker.communicate(b"go\n") for worker in workers)), 60
            )
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()

    reports: list[dict[str, Any]] = []
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert [report["errors"] for report in reports] == [[]] * PROCESSES
    assert sum(report["acks"] for report in reports) == PROCESSES * ORDERS

    assert sim.stats.rate_limit_rejections == 0
    assert len(sim.orders) == PROCESSES * ORDERS
    assert max(Counter(order.order_link_id for order in sim.orders.values()).values()) == 1
    arrivals = sim.stats.arrivals["place_order"]
    assert len(arrivals) == PROCESSES * ORDERS  # nothing retried, nothing sent twice
    assert busiest_window(arrivals) <= LIMIT
    rate = sustained_rate(arrivals, LIMIT)
    assert rate >= 0.9 * LIMIT, f"{rate:.2f}/s together against a limit of {LIMIT}/s"
