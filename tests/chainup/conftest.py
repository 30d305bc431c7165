"""Fixtures of the ChainUP tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from asyncexch.chainup import ChainupContractClient


@pytest.fixture
def client(make_chainup_client: Callable[..., ChainupContractClient]) -> ChainupContractClient:
    """A ChainupContractClient on respx (``chainup_mock``) and the virtual clock."""
    return make_chainup_client()
