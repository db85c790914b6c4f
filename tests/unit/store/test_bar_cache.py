"""The worker cache: bounded in bytes, least recently used out, a changed series misses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market import Market
from store.bars.cache import BarCache, cached_market, market_bytes
from store.bars.imports import parse_csv
from store.data_import import import_parsed
from store.db import make_engine, make_session_factory
from store.schema import upgrade


def market(n: int) -> Market:
    arrays = {f: np.ones((n, 1)) for f in ("open", "high", "low", "close", "volume")}
    stamps = pd.date_range("2024-01-01", periods=n).to_numpy("datetime64[ns]")
    return Market(timestamps=stamps, symbols=("A",), **arrays)


def key(i: int):
    return (("A",), "s", "e", "1d", str(i))


def test_lru_eviction_by_bytes():
    size = market_bytes(market(100))
    cache = BarCache(max_bytes=2 * size)
    cache.put(key(1), market(100))
    cache.put(key(2), market(100))
    assert cache.get(key(1)) is not None  # 1 is now the most recent
    cache.put(key(3), market(100))
    assert cache.get(key(2)) is None and cache.get(key(1)) is not None
    assert len(cache) == 2 and cache.size_bytes <= 2 * size
    assert cache.stats.evictions == 1 and cache.stats.hits == 2 and cache.stats.misses == 1


def test_a_market_larger_than_the_cache_is_not_kept():
    cache = BarCache(max_bytes=10)
    cache.put(key(1), market(100))
    assert len(cache) == 0


def test_changed_series_misses_the_cache(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    first = b"Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,5\n2024-01-03,2,3,2,3,5\n"
    import_parsed(sessions, parse_csv(first, symbol="A"), frequency="1d")
    cache = BarCache(2**20)
    window = (["A"], "1d", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"))
    one = cached_market(sessions, cache, *window)
    assert cached_market(sessions, cache, *window) is one and cache.stats.hits == 1
    changed = b"Date,Open,High,Low,Close,Volume\n2024-01-03,2,3,2,2.5,5\n"
    import_parsed(sessions, parse_csv(changed, symbol="A"), frequency="1d")
    two = cached_market(sessions, cache, *window)
    assert two is not one and two.version != one.version and two.close[1, 0] == 2.5
