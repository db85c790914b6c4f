"""What every provider adapter shares: the HTTP transport and one error hierarchy.

Errors say which provider, what happened and what to do: :class:`ProviderUnavailable` (the
provider could not be reached or failed on its side: retry later, check the network),
:class:`ProviderKeyMissing` (set the named environment variable), :class:`ProviderRejected`
(the provider answered but refused: unknown symbol, rate limit, premium-only endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from engine.errors import NautilusError


class ProviderError(NautilusError):
    """A market-data provider could not give us the data."""

    code = "provider_error"


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"


class ProviderKeyMissing(ProviderError):
    code = "provider_key_missing"


class ProviderRejected(ProviderError):
    code = "provider_rejected"


class Response(Protocol):
    status_code: int

    def json(self) -> Any: ...


class Transport(Protocol):
    """``requests.Session``-like: ``get(url, params=..., timeout=...)`` returns a response."""

    def get(self, url: str, params: dict[str, Any] | None = None, timeout: float = ...) -> Any: ...


def default_transport() -> Transport:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "nautilus-backtest/0.1 (+market-data import)"
    return cast(Transport, session)


@dataclass
class HttpClient:
    """GETs JSON from one provider, turning transport failures into :class:`ProviderError`."""

    provider: str
    transport: Transport
    timeout_s: float = 10.0

    def get_json(self, url: str, params: dict[str, Any]) -> tuple[int, Any]:
        host = urlsplit(url).hostname
        try:
            response = self.transport.get(url, params=params, timeout=self.timeout_s)
        except Exception as exc:  # requests' ConnectionError, Timeout, SSLError, ...
            raise ProviderUnavailable(
                f"{self.provider} is unreachable ({host}: {type(exc).__name__}: {exc}); check "
                "this machine's internet access or try again later"
            ) from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"{self.provider} failed on its side (HTTP {response.status_code}); try later"
            )
        if response.status_code == 429:
            raise ProviderRejected(f"{self.provider} rate-limited this client (HTTP 429)")
        try:
            return response.status_code, response.json()
        except ValueError:
            raise ProviderRejected(
                f"{self.provider} answered HTTP {response.status_code} with a body that is "
                "not JSON; the API may have changed"
            ) from None


def require_key(provider: str, key: str | None, variable: str) -> str:
    if not key:
        raise ProviderKeyMissing(
            f"{provider} needs an API key: set {variable} in the environment (see .env.example)"
        )
    return key
