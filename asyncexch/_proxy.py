"""A proxy URL, checked once and held so that its password shows nowhere.

The clients turn ``proxy=`` into a :class:`ProxyURL` on their first line, like the API secret:
from then on a traceback's locals, a repr or an error message shows ``user:***``. Each
transport gets the form it needs: httpx the whole URL (its own ``Proxy`` masks the password),
aiohttp the URL without credentials and a ``Proxy-Authorization`` header, since aiohttp puts
the proxy URL, credentials and all, into its error messages.
"""

from __future__ import annotations

import base64
import ipaddress
from urllib.parse import unquote, urlsplit

from .errors import ConfigurationError

__all__ = ["ProxyURL", "as_proxy"]

_SCHEMES = ("http", "https", "socks5", "socks5h")


class ProxyURL:
    """A proxy's URL; ``repr`` and ``str`` mask its password."""

    __slots__ = ("_url", "host", "password", "port", "scheme", "username")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str) or "://" not in url:
            raise ConfigurationError(
                "proxy must be a URL such as http://host:3128 or socks5://host:1080"
            )
        try:
            parts = urlsplit(url)
            port = parts.port
            host = parts.hostname
        except ValueError:  # a port that is not a number or out of range
            raise ConfigurationError(
                "proxy: the port must be a number in 1..65535 (the URL is not shown: it may "
                "hold a password)"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ConfigurationError(
                f"proxy must be http://, https:// or socks5://, not {scheme}://"
            )
        if not host or not _plausible_host(host):
            raise ConfigurationError("proxy: the URL has no valid host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigurationError("proxy: the URL must be scheme://[user:password@]host:port")
        default_port = 443 if scheme == "https" else 1080 if scheme.startswith("socks") else 80
        self.scheme: str = scheme
        self.host: str = host
        self.port: int = port or default_port
        self.username: str | None = unquote(parts.username) if parts.username else None
        self.password: str | None = unquote(parts.password) if parts.password else None
        self._url = url

    @property
    def url(self) -> str:
        """The URL as given, credentials included: for the transport only."""
        return self._url

    @property
    def bare(self) -> str:
        """The URL without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header value for its credentials, if it has any."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __repr__(self) -> str:
        who = f"{self.username}:***@" if self.username is not None else ""
        return f"ProxyURL('{self.scheme}://{who}{self.host}:{self.port}')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a ProxyURL is not pickled: it may hold a password")


def as_proxy(proxy: str | ProxyURL | None) -> ProxyURL | None:
    """``proxy`` held as a :class:`ProxyURL` (``None`` stays ``None``)."""
    return proxy if proxy is None or isinstance(proxy, ProxyURL) else ProxyURL(proxy)


def _plausible_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return all(label and len(label) <= 63 for label in host.split(".")) and host.isascii()
