"""The public names are a contract (examples, docs and checks outside this repository use
them): each public module exports exactly these, each resolves, and the calls DESIGN.md shows
exist with the parameters it shows. A change here is a change of the contract: keep the old
name working and say so in the CHANGELOG.

Modelled on httpx's ``test_exported_members.py``.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from asyncexch import errors
from asyncexch.bybit import (
    AdvanceEarn,
    BybitClient,
    DiscountBuy,
    DiscountBuyOrder,
    DualAssets,
    DualAssetsOrder,
    RedeemOrder,
    SmartLeverage,
    StakeOrder,
)
from asyncexch.chainup import ChainupContractClient, ReconcileStatus, TakeOrder, TakeOrderUnknown

PUBLIC: dict[str, set[str]] = {
    "asyncexch": {
        "AiohttpTransport",
        "ApiError",
        "AttemptEvent",
        "AttemptHook",
        "AuthenticationError",
        "BadParameter",
        "BatchReport",
        "BucketState",
        "BucketUsage",
        "CallEvent",
        "CallObserver",
        "Clock",
        "ClockSkew",
        "ConfigurationError",
        "Endpoint",
        "ExchangeError",
        "FailoverLimiter",
        "FailoverStats",
        "IdRecord",
        "IdRegistryUnavailable",
        "IdStatus",
        "InProcessLimiter",
        "InsufficientBalance",
        "InvalidRequest",
        "LimiterHalted",
        "LimiterUnavailable",
        "MalformedResponse",
        "OrderAlreadyExists",
        "OrderNotFound",
        "OrderStatusUnknown",
        "OrderWaitTimeout",
        "Outcome",
        "PermissionDenied",
        "PositionOrderPending",
        "Permit",
        "ProductUnavailable",
        "ProxyURL",
        "RateLimit",
        "RateLimited",
        "RateLimiter",
        "RedeemNotAllowed",
        "RedisIdRegistry",
        "RedisLimiter",
        "RedisLimiterStats",
        "RedisPermit",
        "Reply",
        "ReportsUsage",
        "RetryPolicy",
        "Secret",
        "ServerTime",
        "ServiceUnavailable",
        "Session",
        "SlippageExceeded",
        "StreamConnection",
        "StreamConnector",
        "SubscriptionRefused",
        "SystemClock",
        "TrafficHalted",
        "TransportChoice",
        "TransportError",
        "Venue",
        "VirtualClock",
        "WebsocketsConnector",
        "WireRequest",
        "__version__",
        "connect_redis",
        "is_valid_order_link_id",
        "new_order_link_id",
        "order_link_id_for",
        "shared_limiter",
    },
    "asyncexch.bybit": {
        "AccountType",
        "AdvanceEarn",
        "AdvanceEarnAck",
        "AdvanceEarnCategory",
        "AdvanceEarnOrder",
        "BybitClient",
        "BybitVenue",
        "DEFAULT_LIMITS",
        "DEMO",
        "DOUBLE_WIN_IDS",
        "EARN_IDS",
        "BonusEvent",
        "Earn",
        "EarnAck",
        "EarnCategory",
        "EarnOrderInfo",
        "EarnPosition",
        "EarnProduct",
        "EarnReader",
        "EarnRedeem",
        "EarnStake",
        "FreezeDetail",
        "DUAL_ASSETS_OFFERS",
        "Direction",
        "DiscountBuy",
        "DiscountBuyAck",
        "DiscountBuyOffer",
        "DiscountBuyOrder",
        "DiscountBuyOrderInfo",
        "DiscountBuyPosition",
        "DiscountBuyPositionStatus",
        "DiscountBuyProduct",
        "DiscountBuyQuote",
        "DiscountBuyRefundStatus",
        "DoubleWin",
        "DoubleWinAck",
        "DoubleWinLeverage",
        "DoubleWinOrder",
        "DoubleWinOrderInfo",
        "DoubleWinPosition",
        "DoubleWinProduct",
        "DoubleWinQuote",
        "DoubleWinRedeemOrder",
        "DualAssets",
        "DualAssetsAck",
        "DualAssetsDirection",
        "DualAssetsOffer",
        "DualAssetsOrder",
        "DualAssetsOrderInfo",
        "DualAssetsPosition",
        "DualAssetsProduct",
        "DualAssetsQuote",
        "HmacSigner",
        "InterestCard",
        "LiveQuote",
        "MAINNET",
        "OfferTopic",
        "OrderAck",
        "OrderBatchReport",
        "OrderInfo",
        "OrderMode",
        "OrderStatus",
        "OrderType",
        "Page",
        "Position",
        "PositionStatus",
        "Product",
        "ProductStatus",
        "Quote",
        "QuoteCache",
        "QuoteGap",
        "QuoteStream",
        "REGIONS",
        "RedeemEstimate",
        "RedeemOrder",
        "Region",
        "RsaSigner",
        "SettleType",
        "SMART_LEVERAGE_OFFERS",
        "DISCOUNT_BUY_OFFERS",
        "DOUBLE_WIN_OFFERS",
        "SmartLeverage",
        "StakeOrder",
        "StreamStats",
        "TESTNET",
        "ALL_PRODUCTS",
        "PENDING_ORDER_CODE",
        "AddLiquidity",
        "AddMargin",
        "ApyShare",
        "LiquidationRecord",
        "LiquidityMining",
        "LiquidityMiningAck",
        "LiquidityMiningOrder",
        "LiquidityMiningOrderInfo",
        "LiquidityMiningPosition",
        "LiquidityMiningProduct",
        "LiquidityOrderStatus",
        "LiquidityOrderType",
        "LiquidityPositionStatus",
        "Reinvest",
        "RemoveLiquidity",
        "RemoveType",
        "YieldRecord",
        "YieldStatus",
        "YieldType",
    },
    "asyncexch.chainup": {
        "Balance",
        "ChainupContractClient",
        "ChainupVenue",
        "CloseType",
        "Contract",
        "ContractOrder",
        "DEFAULT_LIMITS",
        "MarginMode",
        "Md5Signer",
        "OpenContract",
        "OrderCreated",
        "OrderDetail",
        "OrderQuery",
        "OrderStatus",
        "OrderType",
        "Position",
        "ReconcileStatus",
        "Reconciliation",
        "Side",
        "TakeOrder",
        "TakeOrderUnknown",
        "Ticker",
        "Trade",
        "VENUE_TIMEZONE",
        "string_to_sign",
    },
    "asyncexch.sim": {
        "BybitSimulator",
        "ChainupAccount",
        "ChainupContract",
        "ChainupOrder",
        "ChainupPosition",
        "ChainupSimulator",
        "ChainupStats",
        "ChainupTrade",
        "Fault",
        "Faults",
        "OfferStreamHub",
        "OfferStreamStats",
        "SimAccount",
        "SimDiscountBuyOffer",
        "SimDiscountBuyOrder",
        "SimDiscountBuyPosition",
        "SimDiscountBuyProduct",
        "SimDoubleWinOrder",
        "SimDoubleWinPosition",
        "SimDoubleWinProduct",
        "SimDualAssetsOffer",
        "SimDualAssetsOrder",
        "SimDualAssetsPosition",
        "SimDualAssetsProduct",
        "SimEarnOrder",
        "SimEarnPosition",
        "SimEarnProduct",
        "SimLiquidationRecord",
        "SimLiquidityOrder",
        "SimLiquidityPosition",
        "SimLiquidityProduct",
        "SimYieldRecord",
        "SimOrder",
        "SimPosition",
        "SimProduct",
        "SimQuote",
        "SimServer",
        "SimStats",
        "SimTransport",
    },
    "asyncexch.errors": {
        "ApiError",
        "AuthenticationError",
        "BadParameter",
        "ClockSkew",
        "ConfigurationError",
        "ExchangeError",
        "IdRegistryUnavailable",
        "InsufficientBalance",
        "InvalidRequest",
        "LimiterUnavailable",
        "MalformedResponse",
        "OrderAlreadyExists",
        "OrderNotFound",
        "OrderStatusUnknown",
        "OrderWaitTimeout",
        "Outcome",
        "PermissionDenied",
        "PositionOrderPending",
        "ProductUnavailable",
        "RateLimited",
        "RedeemNotAllowed",
        "ServiceUnavailable",
        "SlippageExceeded",
        "SubscriptionRefused",
        "TrafficHalted",
        "TransportError",
    },
    "asyncexch.otel": {
        "Telemetry",
    },
    "asyncexch.pytest_plugin": {
        "SIM_API_KEY",
        "SIM_API_SECRET",
    },
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_each_public_module_exports_exactly_its_names(module: str) -> None:
    imported = importlib.import_module(module)

    assert set(imported.__all__) == PUBLIC[module]
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is exported but missing"


def test_the_errors_are_one_hierarchy_reexported_from_the_package() -> None:
    import asyncexch

    for name in errors.__all__:
        error = getattr(errors, name)
        assert getattr(asyncexch, name) is error
        if name != "Outcome":
            assert issubclass(error, errors.ExchangeError)
            assert isinstance(error.outcome, errors.Outcome)
    assert issubclass(errors.InvalidRequest, ValueError)
    assert issubclass(errors.TrafficHalted, errors.RateLimited)
    assert issubclass(errors.IdRegistryUnavailable, errors.LimiterUnavailable)
    assert issubclass(TakeOrderUnknown, errors.OrderStatusUnknown)


def parameters(call: object) -> set[str]:
    return set(inspect.signature(call).parameters)  # type: ignore[arg-type]


def test_the_calls_design_md_shows_keep_their_parameters() -> None:
    assert {"api_key", "api_secret", "base_url", "testnet", "limits", "transport"} <= parameters(
        BybitClient
    )
    assert {"api_key", "api_secret", "base_url"} <= parameters(ChainupContractClient)
    assert {"coin"} <= parameters(AdvanceEarn.products)
    assert {"product_id"} <= parameters(AdvanceEarn.quote)
    assert {"order"} <= parameters(AdvanceEarn.place_order)
    assert {"orders"} <= parameters(AdvanceEarn.place_orders)
    assert {"order", "timeout"} <= parameters(AdvanceEarn.wait_for_order)  # positional: ack
    assert {"product_id"} <= parameters(AdvanceEarn.positions)
    assert {"position_ids"} <= parameters(AdvanceEarn.redeem_estimates)
    assert {"quote", "amount", "account_type"} <= parameters(StakeOrder.from_quote)
    assert {"position", "estimate"} <= parameters(RedeemOrder.from_position)
    assert {"contract_id", "side", "volume", "order_type", "price", "close_type", "cop_type"} <= (
        parameters(TakeOrder)
    )
    assert {"unknown"} <= parameters(ChainupContractClient.reconcile)
    assert {member.name for member in ReconcileStatus} == {"PLACED", "NOT_PLACED", "AMBIGUOUS"}
    assert {"code", "message", "venue"} <= parameters(errors.ApiError)


@pytest.mark.parametrize("category", [SmartLeverage, DualAssets, DiscountBuy])
def test_each_advance_earn_category_has_the_calls_design_md_shows(
    category: type[SmartLeverage | DualAssets | DiscountBuy],
) -> None:
    assert {"coin", "duration"} <= parameters(category.products)
    assert {"product_id"} <= parameters(category.quote)
    assert {"product_id", "order_link_id", "page_size"} <= parameters(category.orders)
    assert {"product_id", "coin", "page_size"} <= parameters(category.positions)
    assert {"order", "timeout"} <= parameters(category.wait_for_order)


def test_a_dual_assets_stake_is_built_from_an_offer() -> None:
    assert {"offer", "amount", "account_type", "now", "margin"} <= parameters(
        DualAssetsOrder.from_offer
    )


def test_a_discount_buy_stake_is_built_from_an_offer() -> None:
    assert {"offer", "amount", "settle_type", "account_type", "now", "margin"} <= parameters(
        DiscountBuyOrder.from_offer
    )


def test_the_limiters_keep_their_documented_parameters() -> None:
    from asyncexch import FailoverLimiter, RedisLimiter

    assert {"primary", "fallback", "share", "recheck", "clock"} <= parameters(FailoverLimiter)
    assert {"redis", "prefix", "clock", "fallback", "fallback_share", "recheck"} <= parameters(
        RedisLimiter
    )
