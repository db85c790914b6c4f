"""Signal files: long and wide shapes read to the same weights; bad rows get named reasons."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from store.signal_import import check_against_bars, parse_signals

LONG = b"""date,symbol,weight
2024-01-01,A,0.5
2024-01-01,B,0.3
2024-01-03,A,0.2
2024-01-03,C,0.4
"""
WIDE = b"""Date,A,B,C
2024-01-01,0.5,0.3,
2024-01-03,0.2,,0.4
"""


def _expected() -> pd.DataFrame:
    index = pd.DatetimeIndex(["2024-01-01", "2024-01-03"])
    return pd.DataFrame({"A": [0.5, 0.2], "B": [0.3, np.nan], "C": [np.nan, 0.4]}, index=index)


@pytest.mark.parametrize("data", [LONG, WIDE])
def test_long_and_wide_read_alike(data):
    parsed = parse_signals(data, "w.csv")
    assert parsed.rejected == 0
    pd.testing.assert_frame_equal(parsed.weights, _expected(), check_names=False,
                                  check_freq=False, check_index_type=False)  # fmt: skip


def test_parquet_reads_like_csv():
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(LONG)).to_parquet(buffer)
    parsed = parse_signals(buffer.getvalue(), "w.parquet")
    assert parsed.weights.shape == (2, 3) and parsed.weights.loc["2024-01-03", "C"] == 0.4


def test_bad_rows_are_named():
    bad = LONG + b"yesterday,A,0.1\n2024-01-04,a b,0.1\n2024-01-04,B,lots\n2024-01-04,C,11\n"
    bad += b"2024-01-01,A,0.6\n"
    parsed = parse_signals(bad, "w.csv")
    assert parsed.report()["rejections"]["reasons"] == {
        "unparseable_time": 1,
        "bad_symbol": 1,
        "not_a_number": 1,
        "weight_out_of_range": 1,
        "duplicate_timestamp": 1,
    }
    examples = parsed.report()["rejections"]["examples"]
    assert {e["reason"] for e in examples} == set(parsed.report()["rejections"]["reasons"])


def test_weights_without_a_stored_bar_are_rejected():
    parsed = parse_signals(LONG, "w.csv")
    bars = {s: {pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03")} for s in "AB"}
    check_against_bars(parsed, bars)
    assert parsed.report()["rejections"]["reasons"] == {"no_bar_at_time": 1}  # C has none


def test_structural_problems_fail_whole():
    with pytest.raises(DataError, match="Weight column"):
        parse_signals(b"date,symbol,w\n2024-01-01,A,1\n", "w.csv")
    with pytest.raises(DataError, match="not numbers"):
        parse_signals(b"date,A\n2024-01-01,x\n", "w.csv")
