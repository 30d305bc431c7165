"""Bybit's hosts: its environments (mainnet, testnet, demo trading), its regional sites, and
which IP-wide rate-limit pool each one counts against.

From Bybit's API guide (docs/v5/guide.mdx, demo.mdx, rate-limit/rate-limit.mdx) unless a
comment says otherwise. The 600-requests-per-5-s IP limit "applies to all traffic directed
to api.bybit.com [...] and local site hostnames such as api.bybit.kz": every mainnet host,
regional or not, counts against one pool per IP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from ..errors import ConfigurationError

__all__ = ["DEMO", "MAINNET", "REGIONS", "TESTNET", "Region", "base_url_for", "ip_pool"]

MAINNET = "https://api.bybit.com"
TESTNET = "https://api-testnet.bybit.com"
#: Demo trading: a mainnet account's isolated demo account, with its own keys.
DEMO = "https://api-demo.bybit.com"

Region = Literal["global", "bytick", "NL", "TR", "KZ", "GE", "AE", "EU", "ID", "JP", "HK"]
#: Mainnet hosts by region: users registered on a regional site use its host.
REGIONS: Mapping[str, str] = {
    "global": MAINNET,
    "bytick": "https://api.bytick.com",  # the guide's second global host
    "NL": "https://api.bybit.nl",
    # The guide says api.bybit.tr; pybit and Bybit's own site links use bybit-tr.com
    # (base_url="https://api.bybit-tr.com" for that reading: the same IP pool).
    "TR": "https://api.bybit.tr",
    "KZ": "https://api.bybit.kz",
    "GE": "https://api.bybitgeorgia.ge",
    "AE": "https://api.bybit.ae",
    "EU": "https://api.bybit.eu",  # the guide: for API broker users only
    "ID": "https://api.bybit.id",
    "JP": "https://api.manepa.jp",
    "HK": "https://api.bybit.com.hk",  # pybit's TLD_HK; not in the API guide
}
#: The only regional testnet the guide names.
_REGIONAL_TESTNETS: Mapping[str, str] = {"JP": "https://api-testnet.manepa.jp"}

#: Domains whose hosts are Bybit's: they share the IP pool of their environment.
_DOMAINS = (
    "bybit.com",
    "bytick.com",
    "bybit.nl",
    "bybit.tr",
    "bybit-tr.com",
    "bybit.kz",
    "bybit.ae",
    "bybit.eu",
    "bybit.id",
    "bybitgeorgia.ge",
    "manepa.jp",
    "bybit.com.hk",
)


def base_url_for(*, testnet: bool, demo: bool, region: str | None) -> str:
    """The host of an environment and region, or a ``ConfigurationError`` for a combination
    Bybit does not serve."""
    if testnet and demo:
        raise ConfigurationError(
            "pass testnet=True or demo=True, not both: demo trading runs on mainnet "
            f"({DEMO}); Bybit calls demo trading on testnet meaningless"
        )
    if region is None or region == "global":
        return TESTNET if testnet else DEMO if demo else MAINNET
    if region not in REGIONS:
        raise ConfigurationError(f"region must be one of {sorted(REGIONS)}, got {region!r}")
    if demo:
        raise ConfigurationError(f"Bybit documents no demo-trading host for region {region!r}")
    if testnet:
        host = _REGIONAL_TESTNETS.get(region)
        if host is None:
            raise ConfigurationError(
                f"Bybit documents no testnet host for region {region!r}: testnet=True "
                f"alone uses {TESTNET}"
            )
        return host
    return REGIONS[region]


def ip_pool(base_url: str) -> str:
    """Which IP-wide pool a host counts against: ``mainnet`` (every mainnet, regional and
    demo-trading host: the conservative reading), ``testnet``, or the host itself."""
    host = (urlsplit(base_url).hostname or base_url).lower()
    if host.endswith(_DOMAINS):
        return "testnet" if "testnet" in host else "mainnet"
    return host
