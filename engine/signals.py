"""Uploaded target weights (``strategy_id: "target_weights"``): a model trained elsewhere.

A signal set is a wide table of weights: one row per bar time at which some weight is given,
one column per symbol. A weight holds from its bar until the next row that names the symbol
changes it (a missing cell keeps the previous weight; before its first row a symbol is flat).
The weights are decisions at the close of their bar: they run through the same portfolio caps,
fills (next open by default), costs and exit orders as any strategy's weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import DataError

TARGET_WEIGHTS = "target_weights"
VERSION = "1.0"
MAX_WEIGHT = 10.0


def provenance(signal_set_id: str | None) -> dict[str, Any]:
    """What results record about a ``target_weights`` run (as ``Strategy.provenance``)."""
    return {
        "strategy_id": TARGET_WEIGHTS,
        "version": VERSION,
        "package": None,
        "package_version": None,
        "signal_set_id": signal_set_id,
    }


def describe() -> dict[str, Any]:
    """Its ``GET /strategies`` entry (as ``Strategy.describe``): no parameters, but the
    request needs ``signal_set_id``."""
    return {
        **provenance(None),
        "description": "Trades uploaded target weights (POST /data/signals) with the "
        "execution rules, caps, costs and exit orders of any strategy.",
        "aliases": [],
        "parameters": {},
        "constraints": [],
        "requires": ["signal_set_id"],
    }


def weights_on_bars(
    signals: pd.DataFrame, timestamps: np.ndarray, symbols: Sequence[str]
) -> np.ndarray:
    """``(T, S)`` weights of ``signals`` (naive UTC index, one column per symbol) on the bars
    at ``timestamps``: each held from its row until changed, 0 before a symbol's first row."""
    missing = [s for s in symbols if s not in signals.columns]
    if missing:
        raise DataError(
            f"the signal set has no weights for {missing}; its symbols are "
            f"{list(signals.columns)}: trade those, or upload weights for these"
        )
    frame = signals[list(symbols)].sort_index().ffill()
    index = pd.DatetimeIndex(timestamps)
    held = frame.reindex(frame.index.union(index)).ffill().reindex(index)
    return held.fillna(0.0).to_numpy(dtype=np.float64)
