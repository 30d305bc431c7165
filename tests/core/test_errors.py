"""Every error pickles and copies with its attributes: place_orders returns them, and a result
list from a process pool must come back whole. (A venue's own errors and requests:
``tests/bybit/test_models.py``, ``tests/chainup/test_reconcile.py``.)"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import attrs
import pytest

from asyncexch import errors


@attrs.frozen
class Request:
    """A caller's request, as an error carries it (a venue's order model)."""

    client_id: str
    amount: Decimal


ORDER = Request("order-1", Decimal("100"))

EXAMPLES: dict[str, Callable[[], errors.ExchangeError]] = {
    "InvalidRequest": lambda: errors.InvalidRequest("amount", "must be > 0"),
    "ConfigurationError": lambda: errors.ConfigurationError("pass one"),
    "TransportError": lambda: errors.TransportError("dropped", outcome=errors.Outcome.UNKNOWN),
    "LimiterUnavailable": lambda: errors.LimiterUnavailable("redis down"),
    "IdRegistryUnavailable": lambda: errors.IdRegistryUnavailable("redis down"),
    "MalformedResponse": lambda: errors.MalformedResponse("bad", status_code=502, excerpt="<h"),
    "ApiError": lambda: errors.ApiError(123, "new", "bybit", http_status=200),
    "ApiError-outcome": lambda: errors.ApiError(
        404, "gone", "bybit", http_status=404, outcome=errors.Outcome.FAILED
    ),
    "AuthenticationError": lambda: errors.AuthenticationError(10003, "key", "bybit"),
    "RateLimited": lambda: errors.RateLimited(10006, "slow", "bybit", retry_after=1.5),
    "TrafficHalted": lambda: errors.TrafficHalted(403, "ban", "bybit", retry_after=600.0),
    "ClockSkew": lambda: errors.ClockSkew(10002, "window", "bybit"),
    "ServiceUnavailable": lambda: errors.ServiceUnavailable(10016, "busy", "bybit"),
    "OrderAlreadyExists": lambda: errors.OrderAlreadyExists(180025, "exists", "bybit"),
    "PositionOrderPending": lambda: errors.PositionOrderPending(
        180006, "pending", "bybit", http_status=200
    ),
    "OrderStatusUnknown": lambda: errors.OrderStatusUnknown(
        "lost", request=ORDER, sent_at=1_700_000_000.5
    ),
    "OrderWaitTimeout": lambda: errors.OrderWaitTimeout("slow", last_seen=None),
    "SubscriptionRefused": lambda: errors.SubscriptionRefused("earn.x.offers", "not found"),
}


def _same(one: errors.ExchangeError, other: errors.ExchangeError) -> None:
    assert type(other) is type(one)
    assert str(other) == str(one) and other.args == one.args
    assert vars(other) == vars(one)
    assert other.outcome is one.outcome


@pytest.mark.parametrize("make", list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_every_error_pickles_and_copies_with_its_attributes(
    make: Callable[[], errors.ExchangeError],
) -> None:
    error = make()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        _same(error, pickle.loads(pickle.dumps(error, protocol)))
    _same(error, copy.copy(error))
    _same(error, copy.deepcopy(error))


def test_every_public_error_class_has_an_example() -> None:
    classes = {
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), Exception)
    }
    covered = {type(make()).__name__ for make in EXAMPLES.values()}
    plain_api_errors = {"BadParameter", "PermissionDenied", "ProductUnavailable"}
    plain_api_errors |= {"InsufficientBalance", "SlippageExceeded", "OrderNotFound"}
    plain_api_errors |= {"RedeemNotAllowed"}
    assert classes - {"ExchangeError"} <= covered | plain_api_errors


def _fail_in_a_worker(index: int) -> errors.ExchangeError:
    return errors.InsufficientBalance(180016, f"order {index}", "bybit", http_status=200)


def test_errors_come_back_from_a_process_pool() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        [result] = list(pool.map(_fail_in_a_worker, [7]))
    assert type(result) is errors.InsufficientBalance
    assert (result.code, result.message, result.http_status) == (180016, "order 7", 200)
