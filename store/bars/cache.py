"""A worker's memory of loaded markets, keyed by what determines them, bounded in bytes.

The key is (symbols, start, end, frequency, dataset version): the version comes from
``bar_series`` (one small query), so a changed series misses the cache and never serves stale
bars. Least recently used markets are dropped once the total size passes the bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from engine.market import FIELDS, Market
from store.bars.reads import dataset_version, list_series, load_bars, snapshot

Key = tuple[tuple[str, ...], str, str, str, str]


def market_bytes(market: Market) -> int:
    return sum(getattr(market, name).nbytes for name in FIELDS) + market.timestamps.nbytes


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class BarCache:
    """Thread-safe LRU of markets holding at most ``max_bytes`` of arrays."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._items: OrderedDict[Key, Market] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Key) -> Market | None:
        with self._lock:
            market = self._items.get(key)
            if market is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return market

    def put(self, key: Key, market: Market) -> None:
        size = market_bytes(market)
        if size > self.max_bytes:
            return  # larger than the whole cache: keeping it would evict everything else
        with self._lock:
            if key in self._items:
                self._bytes -= market_bytes(self._items.pop(key))
            self._items[key] = market
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= market_bytes(old)
                self.stats.evictions += 1


def cached_market(
    sessions: sessionmaker[Session],
    cache: BarCache | None,
    symbols: Sequence[str],
    frequency: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> Market:
    """The stored market of ``symbols`` over the window, from ``cache`` when still current."""
    symbols = tuple(dict.fromkeys(symbols))
    with snapshot(sessions) as session:
        infos = list_series(session, symbols, frequency)
        version = dataset_version(infos, symbols, frequency, start, end)
        key = (symbols, str(pd.Timestamp(start)), str(pd.Timestamp(end)), frequency, version)
        market = cache.get(key) if cache is not None else None
        if market is None:
            market = load_bars(session, symbols, frequency, start, end, infos).to_market()
            if cache is not None:
                cache.put(key, market)
    return market
