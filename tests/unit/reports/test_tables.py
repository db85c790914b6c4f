"""Result tables: one conversion for exports and the client, lossless through CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.tables import TABLES, MissingSection, decode, encode


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
@pytest.mark.parametrize("name", list(TABLES))
def test_tables_round_trip(goog, name, fmt):
    document, _ = goog
    frame = TABLES[name](document)
    back = decode(encode(frame, fmt), fmt)
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    pd.testing.assert_frame_equal(
        back, frame, check_dtype=False, check_exact=False, rtol=1e-12, check_index_type=False
    )


def test_columns_follow_the_document(goog):
    document, _ = goog
    trades = TABLES["trades"](document)
    assert list(trades.columns) == list(document["trades"][0])
    assert len(trades) == 93 and str(trades["entry_time"].dt.tz) == "UTC"
    equity = TABLES["equity"](document)
    assert equity["equity"].iloc[-1] == pytest.approx(document["equity_final"])
    assert len(TABLES["returns"](document)) == len(equity) - 1
    assert list(TABLES["positions"](document).columns) == [
        "timestamp",
        "cash",
        "gross_exposure",
        "GOOG",
    ]


def test_a_missing_section_says_how_to_get_it(goog):
    document, _ = goog
    with pytest.raises(MissingSection, match="positions"):
        TABLES["positions"]({k: v for k, v in document.items() if k != "positions"})
