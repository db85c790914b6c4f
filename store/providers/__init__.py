"""Adapters for market-data providers: Yahoo Finance and Alpha Vantage bars, FRED series.

Each adapter turns a provider's documented HTTP response into bars checked by the same rules as
file imports (``store.bars.imports``); a backtest never calls a provider, it reads the store.
"""

from store.providers.base import (
    ProviderError,
    ProviderKeyMissing,
    ProviderRejected,
    ProviderUnavailable,
)

__all__ = ["ProviderError", "ProviderKeyMissing", "ProviderRejected", "ProviderUnavailable"]
