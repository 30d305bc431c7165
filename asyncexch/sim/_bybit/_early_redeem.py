"""The early redeem SmartLeverage and DoubleWin share: the estimates a redeem relies on and
the checks it passes before it is recorded.

Bybit documents one redeem for both categories (an ``estRedeemAmount`` from the estimate
endpoint, ``isSlippageProtected``, a position that must still be redeemable); the name of
the extra, the lockout before settlement and the payoff differ, and stay in each book. The
simulator's codes: 10001 without the extra or for a non-bool ``isSlippageProtected``;
180020 for a position that is not the account's or not the product's; 180029 when it is
not redeemable; the top-level ``amount`` and ``coin`` by the book's ``redeem_rules``
(:meth:`~._engine.AdvanceEarnBook.check_redeem_amount_and_coin`); 180006 for an estimate
older than 10 minutes or other than the one given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._instant import Instant
from .._refused import Refused
from ._params import positive_decimal
from ._records import SimAccount

__all__ = ["EarlyRedeems", "RedeemRequest", "fell_past_slippage"]

#: How long a redeem may rely on an estimate, in seconds.
_ESTIMATE_TTL = 600.0
#: How far below its estimate a slippage-protected redeem may pay (the estimate's slippageRate).
_REDEEM_SLIPPAGE = Decimal("0.05")


class _Position(Protocol):
    position_id: str
    uid: str
    product_id: str
    amount: Decimal
    status: str


P = TypeVar("P", bound=_Position)


@attrs.frozen
class RedeemRequest(Generic[P]):
    """A redeem that passed the checks: its position, now Redeeming, the estimate it relies
    on and whether it is slippage-protected."""

    position: P
    estimated: Decimal
    protected: bool


def fell_past_slippage(value: Decimal, estimated: Decimal) -> bool:
    """Whether a protected redeem paying ``value`` fails: more than the slippage rate below
    the estimate it relied on."""
    return value < estimated * (1 - _REDEEM_SLIPPAGE)


class EarlyRedeems(Generic[P]):
    """One category's early redeems: the estimates given for its ``positions`` (by id) and
    the checks a redeem in the ``extra_name`` extra passes. ``redeemable`` is the category's
    own rule; ``amount_and_coin`` checks the redeem's top-level ``amount`` and ``coin``
    (invest coin, staked amount, body)."""

    def __init__(
        self,
        extra_name: str,
        positions: Mapping[str, P],
        redeemable: Callable[[P, Instant], bool],
        amount_and_coin: Callable[[str, Decimal, Mapping[str, Any]], None],
    ) -> None:
        self._extra_name = extra_name
        self._positions = positions
        self._redeemable = redeemable
        self._amount_and_coin = amount_and_coin
        self._estimates: dict[tuple[str, str], tuple[Decimal, float]] = {}

    def estimate(
        self,
        account: SimAccount,
        position_id: str,
        at: Instant,
        value: Callable[[P, Instant], Decimal | None],
    ) -> Decimal | None:
        """What redeeming the account's position would pay at ``at``, by the category's
        ``value`` (``None`` when the position is not the account's, not redeemable, or
        ``value`` gives ``None``); a redeem may rely on it for 10 minutes."""
        position = self._positions.get(position_id)
        if position is None or position.uid != account.uid or not self._redeemable(position, at):
            return None
        amount = value(position, at)
        if amount is not None:
            self._estimates[(account.uid, position_id)] = (amount, at.monotonic)
        return amount

    def accept(
        self,
        account: SimAccount,
        product_id: str,
        invest_coin: str,
        body: Mapping[str, Any],
        at: Instant,
    ) -> RedeemRequest[P]:
        """Check the redeem ``body`` (see the module's codes) and mark its position
        Redeeming."""
        extra = body.get(self._extra_name)
        if not isinstance(extra, dict):
            raise Refused(10001, f"{self._extra_name} is required for Redeem")
        position = self._positions.get(str(extra.get("positionId")))
        if position is None or position.uid != account.uid or position.product_id != product_id:
            raise Refused(180020, "Position not found")
        if not self._redeemable(position, at):
            raise Refused(180029, "Redeem not allowed")
        self._amount_and_coin(invest_coin, position.amount, body)
        protected = extra.get("isSlippageProtected", False)
        if not isinstance(protected, bool):
            raise Refused(10001, "isSlippageProtected must be a bool")
        estimated = positive_decimal(extra.get("estRedeemAmount"), "estRedeemAmount")
        given = self._estimates.get((account.uid, position.position_id))
        if given is None or at.monotonic - given[1] > _ESTIMATE_TTL or given[0] != estimated:
            raise Refused(
                180006, "Validation failed: redeem estimate expired or unknown; query it again"
            )
        position.status = "Redeeming"
        return RedeemRequest(position, estimated, protected)
