"""Where a backtest's bars come from: the labelled synthetic generator or the bar store."""

from __future__ import annotations

from typing import Any

from store.bars.cache import BarCache

SYNTHETIC = "synthetic"
_cache: BarCache | None = None


def load_market(spec: Any) -> Any:
    """The ``engine.market.Market`` for ``spec``: every symbol it trades plus its benchmark."""
    from engine.backtest import required_symbols
    from engine.data import synthetic_market
    from engine.data.sources import resolve_source

    if resolve_source(spec.data_sources) == SYNTHETIC:
        return synthetic_market(
            required_symbols(spec),
            spec.start_date,
            spec.end_date,
            frequency=spec.frequency,
            seed=spec.data_seed,
        )
    return stored_market(spec)


def stored_market(spec: Any) -> Any:
    """The spec's window of stored bars, through this worker's cache (one read on a miss)."""
    from engine.backtest import required_symbols
    from store.bars.cache import cached_market
    from tasks.context import context

    ctx = context()
    return cached_market(
        ctx.sessions,
        bar_cache(ctx.settings.bar_cache_mb),
        required_symbols(spec),
        spec.frequency,
        spec.start_date,
        spec.end_date,
    )


def bar_cache(max_mb: int) -> BarCache | None:
    """This process's cache (none when the size is 0)."""
    global _cache
    if max_mb <= 0:
        return None
    if _cache is None or _cache.max_bytes != max_mb * 2**20:
        _cache = BarCache(max_mb * 2**20)
    return _cache


def load_signals(signal_set_id: str) -> Any:
    """A ``target_weights`` job's signal set (its owner was checked when it was submitted)."""
    from engine.errors import DataError
    from store.signal_sets import get_signal_set, signal_weights
    from tasks.context import context

    with context().sessions() as session:
        row = get_signal_set(session, signal_set_id, None)
        if row is None:
            raise DataError(f"signal set {signal_set_id!r} no longer exists")
        return signal_weights(row)
