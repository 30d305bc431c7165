"""The JSON ChainUP answers with: the documented shapes of contracts, tickers, orders, trades,
positions and balances, numbers mixed the way the venue mixes them.

Integers and prices the venue stores as decimals are JSON numbers; values it computes in
Java ``double`` (average and liquidation prices, index prices, margins) are printed as a
double prints; a few amounts are strings cut to 8 (or 14) decimals.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from .._json import decimal_text, java_double
from ._engine import ContractBook
from ._records import (
    ISOLATED,
    MAKER_UID,
    ChainupAccount,
    ChainupContract,
    ChainupOrder,
    ChainupPosition,
    ChainupTrade,
)

__all__ = [
    "balance_json",
    "hold_contract_json",
    "market_json",
    "order_info_json",
    "order_list_json",
    "position_json",
    "public_info_json",
]

#: Where ChainUP's deployments run: the timezone of the dates they send as text.
VENUE_TIMEZONE = timezone(timedelta(hours=8))
_EIGHT = Decimal("0.00000001")


def public_info_json(book: ContractBook) -> dict[str, Any]:
    """``contract_public_info``: every contract, and the coins margins are kept in."""
    contracts = book.contracts.values()
    coins = sorted({c.quote_symbol for c in contracts})
    return {
        "market": {c.symbol: _contract_json(c) for c in contracts},
        "marketSymbol": next(iter(contracts)).symbol,
        "wsUrl": "wss://chainup-sim.invalid/contract-kline-api/ws",
        "coinList": [{"symbol": coin, "showPrecision": 8} for coin in coins],
    }


def _contract_json(contract: ChainupContract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "symbol": contract.symbol,
        "contractName": contract.contract_name,
        "contractType": contract.contract_type,
        "baseSymbol": contract.base_symbol,
        "quoteSymbol": contract.quote_symbol,
        "feeRateMaker": contract.fee_rate_maker,
        "feeRateTaker": contract.fee_rate_taker,
        "holdRate": contract.hold_rate,
        "leverTypes": ",".join(str(level) for level in contract.lever_types),
        "maxLeverageLevel": max(contract.lever_types),
        "minOrderVolume": str(contract.min_order_volume),
        "maxOrderVolume": str(contract.max_order_volume),
        "minMargin": contract.min_margin,
        "pricePrecision": contract.price_precision,
        "multiplier": decimal_text(contract.multiplier),
        "settleTime": contract.settle_time,
        "status": contract.status,
    }


def market_json(book: ContractBook, contract: ChainupContract, now_ms: int) -> dict[str, Any]:
    """``market``: the contract's ticker at ``now_ms``."""
    last = book.last[contract.id]
    opening = book.opening[contract.id]
    spread = contract.tick
    return {
        "high": book.high[contract.id],
        "low": book.low[contract.id],
        "vol": book.volume[contract.id],
        "last": last,
        "buy": decimal_text(last - spread, contract.price_precision + 1),
        "sell": decimal_text(last + spread, contract.price_precision + 1),
        "rose": ((last - opening) / opening).quantize(_EIGHT),
        "indexPrice": book.index_price(contract),
        "tagPrice": book.tag_price(contract),
        "time": now_ms,
    }


def order_info_json(order: ChainupOrder) -> dict[str, Any]:
    """An item of ``order_info``: the order and its trades."""
    return {
        "id": order.order_id,
        "side": order.side,
        "type": order.order_type,
        "volume": order.volume,
        "dealVolume": order.deal_volume,
        "price": java_double(order.price or Decimal(0)),
        "avgPrice": java_double(order.avg_price),
        "realizedAmount": java_double(order.realized_amount),
        "freezeAmount": java_double(order.freeze_amount),
        "status": order.status,
        "tradeList": [_trade_json(order, trade) for trade in order.trades],
    }


def _trade_json(order: ChainupOrder, trade: ChainupTrade) -> dict[str, Any]:
    """A trade between the order and the market maker, as bid and ask."""
    mine = {"Id": order.order_id, "Uid": order.uid, "Fee": java_double(trade.fee)}
    maker = {"Id": 0, "Uid": MAKER_UID, "Fee": Decimal(0)}
    bid, ask = (mine, maker) if order.side == "BUY" else (maker, mine)
    other = "SELL" if order.side == "BUY" else "BUY"
    return {
        "id": trade.trade_id,
        "price": java_double(trade.price),
        "volume": trade.volume,
        "askId": ask["Id"],
        "bidId": bid["Id"],
        "askUid": ask["Uid"],
        "bidUid": bid["Uid"],
        "askFee": ask["Fee"],
        "bidFee": bid["Fee"],
        "trendSide": order.side if trade.taker else other,
    }


def order_list_json(order: ChainupOrder, shape: Literal["docs", "app"]) -> dict[str, Any]:
    """An item of ``order_list_v2``: the documented fields, and with ``shape="app"`` what
    ChainUP's own apps receive too (``action``, ``ctime`` in UTC+8, ``ctimeStr``)."""
    item: dict[str, Any] = {
        "orderId": order.order_id,
        "contractId": order.contract_id,
        "side": order.side,
        "type": order.order_type,
        "volume": order.volume,
        "dealVolume": order.deal_volume,
        "price": java_double(order.price or Decimal(0)),
        "status": order.status,
        "positionId": order.position_id,
        "level": order.level,
    }
    if shape == "app":
        local = datetime.fromtimestamp(order.created_ms / 1000, VENUE_TIMEZONE)
        item["action"] = order.action
        item["ctime"] = local.strftime("%Y-%m-%d %H:%M:%S")
        item["ctimeStr"] = str(order.created_ms)
    return item


def position_json(
    book: ContractBook, account: ChainupAccount, position: ChainupPosition
) -> dict[str, Any]:
    """An item of ``user_position``'s ``positions``."""
    contract = book.contracts[position.contract_id]
    mark = book.tag_price(contract)
    return {
        "id": position.position_id,
        "contractId": contract.id,
        "symbol": contract.symbol,
        "contractName": contract.contract_name,
        "baseSymbol": contract.base_symbol,
        "quoteSymbol": contract.quote_symbol,
        "side": position.side,
        "volume": position.volume,
        "avgPrice": java_double(position.avg_price),
        "liquidationPrice": java_double(book.liquidation(position)),
        "indexPrice": mark,
        "leverageLevel": position.leverage,
        "usedMargin": decimal_text(position.margin, 8),
        "holdAmount": java_double(position.margin),
        "priceValue": java_double(position.volume * contract.multiplier * mark),
        "canUseMargin": java_double(book.available(account.api_key, contract.quote_symbol)),
        "realisedAmountCurr": decimal_text(position.realised, 8),
        "unrealisedAmountIndex": decimal_text(book.unrealised(position), 8),
        "copType": ISOLATED,
        "ctime": position.created_ms,
    }


def hold_contract_json(book: ContractBook, position: ChainupPosition) -> dict[str, Any]:
    """An item of ``hold_contract_list``."""
    contract = book.contracts[position.contract_id]
    return {
        "volume": position.volume,
        "symbol": contract.symbol,
        "side": position.side,
        "avgPrice": java_double(position.avg_price),
        "contractId": contract.id,
        "contractName": contract.contract_name,
        "unrealisedAmount": decimal_text(book.unrealised(position), 14),
        "realisedAmount": java_double(position.realised),
        "quoteSymbol": contract.quote_symbol,
    }


def balance_json(book: ContractBook, account: ChainupAccount, coin: str) -> dict[str, Any]:
    """An item of ``account_balance``: the wallet in ``coin`` and what holds it."""
    wallet = account.balances[coin]
    order_margin, order_fee = book.order_margin(account.api_key, coin)
    position_margin = book.position_margin(account.api_key, coin)
    unrealised = sum(
        (
            book.unrealised(p)
            for p in book.positions_for(account.api_key)
            if book.contracts[p.contract_id].quote_symbol == coin
        ),
        Decimal(0),
    )
    return {
        "quoteSymbol": coin,
        "margin": java_double(wallet),
        "accountRight": decimal_text(wallet + unrealised, 8),
        "canUseBalance": java_double(wallet - position_margin - order_margin),
        "positionMargin": decimal_text(position_margin, 8),
        "orderMargin": decimal_text(order_margin, 8),
        "unrealisedAmount": decimal_text(unrealised, 8),
        "openPositionFee": java_double(order_fee),
    }
