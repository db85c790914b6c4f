"""Market data as the engine sees it: OHLCV arrays per symbol on one union calendar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import pandas as pd

from engine.errors import DataError

FIELDS = ("open", "high", "low", "close", "volume")
Times = TypeVar("Times", pd.Timestamp, pd.DatetimeIndex)


@dataclass(frozen=True, eq=False)
class Market:
    """Bars of several symbols aligned on the union of their timestamps.

    Arrays are ``(T, S)`` float64; a symbol without a bar at a timestamp holds NaN there,
    which makes that bar untradable. ``source`` says where the bars came from (``synthetic``
    data is always labelled so); ``version`` identifies the exact dataset.
    """

    timestamps: np.ndarray  # (T,) datetime64[ns], UTC
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    frequency: str = "1d"
    source: str = "unknown"
    version: str = ""
    sectors: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (len(self.timestamps), len(self.symbols))
        for name in FIELDS:
            if getattr(self, name).shape != shape:
                raise DataError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")

    @property
    def n_bars(self) -> int:
        return len(self.timestamps)

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def valid(self) -> np.ndarray:
        """``(T, S)`` mask of bars that exist and can be traded."""
        return np.isfinite(self.open) & np.isfinite(self.close)

    def filled(self, name: str) -> np.ndarray:
        """A price field forward-filled per symbol, so missing bars keep the last known value."""
        return forward_filled(getattr(self, name))

    def column(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise DataError(
                f"symbol {symbol!r} is not in this market {list(self.symbols)}"
            ) from None

    def between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> Market:
        """The bars with ``start <= timestamp <= end`` (either bound may be None)."""
        keep = np.ones(self.n_bars, dtype=bool)
        if start is not None:
            keep &= self.timestamps >= _naive_utc(pd.Timestamp(start)).to_datetime64()
        if end is not None:
            keep &= self.timestamps <= _naive_utc(pd.Timestamp(end)).to_datetime64()
        return self._take(keep, slice(None))

    def select(self, symbols: list[str] | tuple[str, ...]) -> Market:
        """The given symbols, in that order."""
        cols = [self.column(s) for s in symbols]
        sub = self._take(slice(None), cols)
        return replace(sub, symbols=tuple(symbols))

    def _take(self, rows, cols) -> Market:
        arrays = {name: getattr(self, name)[rows][:, cols] for name in FIELDS}
        symbols = self.symbols if isinstance(cols, slice) else tuple(self.symbols[c] for c in cols)
        return replace(self, timestamps=self.timestamps[rows], symbols=symbols, **arrays)

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        frequency: str = "1d",
        source: str = "unknown",
        version: str = "",
        sectors: Mapping[str, str] | None = None,
    ) -> Market:
        """Align per-symbol frames (a UTC DatetimeIndex and lower-case OHLCV columns)."""
        if not frames:
            raise DataError("no symbols given")
        indexes = {
            symbol: _naive_utc(pd.DatetimeIndex(frame.index)) for symbol, frame in frames.items()
        }
        index = indexes[next(iter(indexes))]
        for other in indexes.values():
            index = index.union(other)
        arrays = {name: np.empty((len(index), len(frames))) for name in FIELDS}
        for col, (symbol, frame) in enumerate(frames.items()):
            aligned = frame.set_axis(indexes[symbol]).reindex(index)
            for name in FIELDS:
                arrays[name][:, col] = aligned[name].to_numpy(dtype=float)
        return cls(
            timestamps=index.to_numpy(dtype="datetime64[ns]"),
            symbols=tuple(frames),
            frequency=frequency,
            source=source,
            version=version,
            sectors=dict(sectors or {}),
            **arrays,
        )


def forward_filled(values: np.ndarray) -> np.ndarray:
    """``(T, S)`` with each NaN replaced by the last non-NaN value above it in its column
    (leading NaNs stay NaN): pandas' ``ffill`` without its per-call overhead."""
    rows = np.arange(len(values))[:, None]
    last_seen = np.maximum.accumulate(np.where(np.isnan(values), 0, rows), axis=0)
    return np.take_along_axis(values, last_seen, axis=0)


def _naive_utc(moment: Times) -> Times:
    """A Timestamp or DatetimeIndex as naive UTC, the timestamps' own kind: aware times are
    converted, naive ones are taken as UTC."""
    return moment.tz_convert("UTC").tz_localize(None) if moment.tz is not None else moment
