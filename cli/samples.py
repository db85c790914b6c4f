"""The real daily bars shipped in ``examples/data`` (see its README for where they come from).

``make run`` imports them, so the first backtest a newcomer sees runs on real prices. Importing
is an upsert: running it again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples" / "data"
SAMPLES = {"GOOG": "GOOG.csv", "SPX": "SPX.csv.gz", "IXIC": "IXIC.csv.gz"}
"""Symbol -> file: Alphabet (2004-2013), the S&P 500 and the NASDAQ Composite (1999-2018)."""


def import_samples(sessions: Any) -> dict[str, dict[str, Any]]:
    """Store every sample series (daily bars, NYSE calendar); the import report of each."""
    from store.bars.imports import parse_file
    from store.data_import import import_parsed

    reports = {}
    for symbol, name in SAMPLES.items():
        parsed = parse_file(SAMPLES_DIR / name, symbol=symbol, frequency="1d", exchange=None)
        reports[symbol] = import_parsed(
            sessions, parsed, frequency="1d", source="sample", exchange=None, on_error="reject"
        )
    return reports
