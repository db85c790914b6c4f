"""Validating stored bars: one read of every requested symbol, then the engine's checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from engine.data.quality import QualityRules, SymbolQuality, assess
from engine.data.validation import validation_report
from store.bars.reads import SOURCE, StoredBars, list_series, load_bars


@dataclass(frozen=True)
class StoredValidation:
    """The report, the per-symbol quality behind it, and the bars that were checked."""

    report: dict[str, Any]
    qualities: tuple[SymbolQuality, ...]
    bars: StoredBars

    @property
    def ready(self) -> bool:
        return bool(self.report["validation_summary"]["ready_for_backtest"])


def validate_stored(
    session: Session,
    symbols: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    frequency: str = "1d",
    rules: QualityRules | None = None,
) -> StoredValidation:
    """Check the stored bars of ``symbols`` between ``start`` and ``end`` (inclusive)."""
    symbols = list(dict.fromkeys(symbols))
    infos = {i.symbol: i for i in list_series(session, symbols, frequency)}
    bars = load_bars(session, symbols, frequency, start, end, list(infos.values()))
    qualities = []
    for symbol in symbols:
        info = infos.get(symbol)
        exchange = info.exchange if info else None
        quality = assess(bars.symbol_bars(symbol, exchange or "XNYS"), start, end, frequency, rules)
        if info is not None:  # dates of everything stored, as the seed reports them
            quality = replace(quality, earliest=_naive(info.first_ts), latest=_naive(info.last_ts))
        qualities.append(quality)
    versions = {s: i.version for s, i in infos.items()}
    report = validation_report(qualities, start, end, frequency, versions)
    report["validation_summary"] |= {"data_source": SOURCE, "dataset_version": bars.version}
    return StoredValidation(report, tuple(qualities), bars)


def _naive(ts: Any) -> pd.Timestamp | None:
    if ts is None:
        return None
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
