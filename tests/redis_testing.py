"""A real ``redis-server`` on a free loopback port, started for each test and stopped after it.

The tests skip when redis-server is not installed, except in CI (``CI`` set), where
``.ci/run`` installs it and its absence is a failure.

The fixtures live here, not in a ``conftest.py``: tests elsewhere import helpers from the top
``tests/conftest.py`` as ``conftest``, which a second conftest module would shadow. A test
module imports the fixtures it uses::

    from redis_testing import (  # noqa: F401 (the fixtures)
        make_limiter_fixture,
        redis_server_fixture,  # every fixture a used one needs, too
    )

:func:`until` waits for something to have happened (a waiter queued, a key expired) instead
of sleeping for a guessed time.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from asyncexch._redis import RedisLimiter


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 5.0, every: float = 0.0
) -> None:
    """Let the other tasks run (and Redis answer) until ``condition()`` holds, looking again
    every ``every`` seconds (0: at each turn of the loop). ``timeout`` is a bound against a
    hang, far beyond what the condition needs, never a wait."""

    async def poll() -> None:
        while True:
            met = condition()
            if inspect.isawaitable(met):
                met = await met
            if met:
                return
            await asyncio.sleep(every)

    await asyncio.wait_for(poll(), timeout)


def _redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs it with apt-get")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process, loopback only, in its own directory: no persistence, or
    with ``snapshots`` Redis's defaults (an RDB file, reloaded at start)."""

    def __init__(self, binary: str, directory: Path, *, snapshots: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        self.snapshots = snapshots
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                *(() if self.snapshots else ("--save", "")),
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as if it crashed) and wait until it is gone."""
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop the server as if it crashed and start it again on the same port: empty, or
        (with ``snapshots``) with the last snapshot it saved."""
        self.stop(signal.SIGKILL)
        self.start()


@pytest.fixture(name="redis_server")
def redis_server_fixture(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(_redis_server_binary(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="snapshotting_redis_server")
def snapshotting_redis_server_fixture(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with Redis's default persistence: snapshots, reloaded after a crash."""
    server = RedisServer(_redis_server_binary(), tmp_path, snapshots=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="redis_client")
async def redis_client_fixture(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client for looking at what the limiter wrote."""
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(name="make_limiter")
async def make_limiter_fixture(
    redis_server: RedisServer,
) -> AsyncIterator[Callable[..., RedisLimiter]]:
    """Build RedisLimiters on the test's server (each with its own connections: a simulated
    process); closed at the end."""
    limiters: list[RedisLimiter] = []

    def build(**kwargs: Any) -> RedisLimiter:
        limiter = RedisLimiter(kwargs.pop("url", redis_server.url), **kwargs)
        limiters.append(limiter)
        return limiter

    yield build
    for limiter in limiters:
        await limiter.aclose()
