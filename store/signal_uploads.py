"""Uploading a signal set: parse and check the file, check it against the stored bars (as
``/data/validate`` does), then store it for its owner; all or nothing."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from engine.data.validation import not_ready
from engine.errors import DataError
from store.data_import import ImportRejected
from store.data_validation import validate_stored
from store.signal_import import check_against_bars, parse_signals
from store.signal_sets import save_signal_set


class SignalsNotReady(DataError):
    """The stored bars the signal set needs are missing or unusable (with the report)."""

    def __init__(self, message: str, errors: dict[str, list[str]], report: dict[str, Any]):
        super().__init__(message)
        self.errors = errors
        self.extra = {"validation_report": report}


def store_signals(
    session: Session, owner: str, name: str, data: bytes, filename: str, frequency: str
) -> dict[str, Any]:
    """Check and store the signal set in ``data``; its description and validation summary."""
    parsed = parse_signals(data, filename, frequency)
    weights = parsed.weights
    if weights.empty:
        raise ImportRejected(parsed.report(), skip_hint=False)
    start, end = (pd.Timestamp(t).tz_localize("UTC") for t in (weights.index[0], weights.index[-1]))
    checked = validate_stored(session, list(weights.columns), start, end, frequency)
    if not checked.ready:
        problem = not_ready(checked.report, checked.qualities)
        raise SignalsNotReady(
            "the stored bars this signal set trades are missing or unusable over its dates; "
            "see validation_report and import them (POST /data/bars)",
            problem.errors,
            checked.report,
        )
    stored = checked.bars
    times = {
        symbol: set(pd.DatetimeIndex(stored.timestamps[stored.column == i]))
        for i, symbol in enumerate(stored.symbols)
    }
    check_against_bars(parsed, times)
    if parsed.rejected:
        raise ImportRejected(parsed.report(), skip_hint=False)
    row = save_signal_set(session, owner, name, frequency, weights)
    session.flush()
    summary = checked.report["validation_summary"]
    return {**row.describe(), "owner": owner, "validation_summary": summary}
