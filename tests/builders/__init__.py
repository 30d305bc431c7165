"""What the tests build: each venue's answers, orders and constants, in one place.

``tests.builders.bybit`` and ``tests.builders.chainup`` hold, for their venue, the test
credentials, the endpoint paths as the venue documents them (written out here, not taken from
the package, so a wrong path in the package fails a test), the success and refusal envelopes
respx serves, and the orders the tests send; ``tests.builders.dual_assets`` Bybit's
DualAssets answers as its docs write them; ``tests.builders.sim`` the clients wired to a
simulator (the ``sim_client`` fixture); ``tests.builders.raw_bybit`` hand-signed requests to
the Bybit simulator; :func:`raw` here an answer of exact bytes. Fixtures live in
``tests/conftest.py``.
"""

from __future__ import annotations

import httpx


def raw(body: bytes | str, status: int = 200) -> httpx.Response:
    """An answer of exactly these bytes, labelled JSON (a number keeps every digit)."""
    content = body.encode("utf-8") if isinstance(body, str) else body
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})
