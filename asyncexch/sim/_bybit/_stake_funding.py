"""Paying for a stake: the amount within the quote's maximum (180013), what the product has
left (180015) and the balance (180016), then out of the account. DualAssets, DoubleWin and
DiscountBuy check in this order; SmartLeverage checks its slippage between the maximum and
the quota, so it uses :func:`debit` alone."""

from __future__ import annotations

from decimal import Decimal

from .._refused import Refused
from ._records import SimAccount

__all__ = ["debit", "fund_stake"]


def fund_stake(
    account: SimAccount,
    coin: str,
    amount: Decimal,
    *,
    maximum: Decimal,
    remaining: Decimal | None,
) -> None:
    """Take ``amount`` of ``coin`` from the account for a stake quoted up to ``maximum`` of a
    product with ``remaining`` left (``None``: no quota). The caller lowers the quota."""
    if amount > maximum:
        raise Refused(180013, "Stake over maximum share")
    if remaining is not None and amount > remaining:
        raise Refused(180015, "Products share not enough")
    debit(account, coin, amount)


def debit(account: SimAccount, coin: str, amount: Decimal) -> None:
    """Take ``amount`` of ``coin`` from the account (180016 when it holds less)."""
    balance = account.balances.get(coin, Decimal(0))
    if amount > balance:
        raise Refused(180016, "Balance not enough")
    account.balances[coin] = balance - amount
