"""Bar files: every common CSV/Parquet shape loads the same numbers; bad files fail clearly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError, SpecError
from engine.market import FIELDS
from store.bars.files import market_from_files, read_bar_file

GOOG_CSV = Path(__file__).resolve().parents[3] / "examples" / "data" / "GOOG.csv"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """30 GOOG days with capitalised columns and a naive ``Date`` index (yfinance-like)."""
    frame = pd.read_csv(GOOG_CSV, index_col="Date", parse_dates=True).iloc[:30]
    return frame.astype(float)


def expected(frame: pd.DataFrame) -> pd.DataFrame:
    """What :func:`read_bar_file` should return for ``frame``."""
    out = frame.set_axis([c.lower() for c in frame.columns], axis=1)[list(FIELDS)]
    index = pd.DatetimeIndex(frame.index).tz_localize("UTC").as_unit("ns")
    return out.set_axis(index.rename("timestamp"))


def _csv(frame: pd.DataFrame, path: Path, **kwargs) -> Path:
    frame.to_csv(path, **kwargs)
    return path


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path)
    return path


def _epoch(frame: pd.DataFrame, path: Path, name: str, scale: int) -> Path:
    seconds = pd.DatetimeIndex(frame.index).as_unit("s").asi8
    return _csv(frame.set_axis(seconds * scale).rename_axis(name), path)


SHAPES: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "upper": lambda f, d: _csv(f, d / "a.csv", index_label="Date"),
    "lower": lambda f, d: _csv(f.rename(columns=str.lower), d / "a.csv", index_label="date"),
    "mixed_case_spaces": lambda f, d: _csv(
        f.rename(columns=lambda c: f" {c.swapcase()} "), d / "a.csv", index_label=" DATETIME "
    ),
    "adj_close": lambda f, d: _csv(
        f.assign(**{"Adj Close": f["Close"] * 0.5}), d / "a.csv", index_label="Date"
    ),
    "iso_with_zone": lambda f, d: _csv(
        f.set_axis(pd.DatetimeIndex(f.index).tz_localize("UTC").tz_convert("America/New_York")),
        d / "a.csv",
        index_label="Timestamp",
    ),
    "unnamed_index": lambda f, d: _csv(f, d / "a.csv"),
    "epoch_seconds": lambda f, d: _epoch(f, d / "a.csv", "timestamp", 1),
    "epoch_millis": lambda f, d: _epoch(f, d / "a.csv", "time", 1000),
    "date_and_time": lambda f, d: _csv(
        f.assign(Time="00:00:00").reset_index(names="Date"), d / "a.csv", index=False
    ),
    "shuffled": lambda f, d: _csv(f.iloc[::-1], d / "a.csv", index_label="Date"),
    "gzip": lambda f, d: _csv(f, d / "a.csv.gz", index_label="Date"),
    "parquet_index": lambda f, d: _parquet(f.rename_axis("Date"), d / "a.parquet"),
    "parquet_column": lambda f, d: _parquet(f.reset_index(names="timestamp"), d / "a.pq"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_loads_the_same_numbers(shape, reference, tmp_path):
    frame = read_bar_file(SHAPES[shape](reference, tmp_path))
    pd.testing.assert_frame_equal(frame, expected(reference))
    assert str(frame.index.tz) == "UTC"


def test_goog_csv_round_trips_to_the_backtesting_arrays():
    from backtesting.test import GOOG

    frame = read_bar_file(GOOG_CSV)
    assert len(frame) == len(GOOG) == 2148
    np.testing.assert_array_equal(
        frame.to_numpy(), GOOG[list(map(str.title, FIELDS))].to_numpy(float)
    )
    np.testing.assert_array_equal(frame.index.tz_localize(None).to_numpy(), GOOG.index.to_numpy())


# --- markets --------------------------------------------------------------------------------


def test_market_from_files_aligns_symbols_and_versions_the_contents(reference, tmp_path):
    a = _csv(reference.iloc[:20], tmp_path / "a.csv", index_label="Date")
    b = _csv(reference.iloc[10:], tmp_path / "b.csv", index_label="Date")
    m = market_from_files({"AAA": a, "BBB": str(b)})
    assert m.symbols == ("AAA", "BBB") and m.source == "file" and m.frequency == "1d"
    assert m.n_bars == 30 and len(m.version) == 16
    assert np.isnan(m.close[20:, 0]).all() and np.isnan(m.close[:10, 1]).all()
    np.testing.assert_array_equal(m.close[:20, 0], reference["Close"].to_numpy()[:20])
    assert market_from_files({"AAA": a, "BBB": b}).version == m.version
    _csv(reference.iloc[10:].assign(Volume=1.0), b, index_label="Date")
    assert market_from_files({"AAA": a, "BBB": b}).version != m.version


def test_market_from_files_rejects_unknown_frequency(tmp_path):
    with pytest.raises(SpecError) as info:
        market_from_files({"GOOG": GOOG_CSV}, frequency="2d")
    assert "frequency" in info.value.errors


# --- bad files ------------------------------------------------------------------------------

HEADER = "Date,Open,High,Low,Close,Volume\n"
GOOD = "2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,12,10,11,200\n"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("Date,Open,High,Low,Close\n2020-01-02,10,11,9,10.5\n", ["Volume", "required"]),
        ("Day,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,1\n", ["no time column"]),
        (HEADER + GOOD + "2020-13-45,1,1,1,1,1\n", ["'Date'", "row 3 (line 4)", "2020-13-45"]),
        (HEADER + GOOD + "2020-01-02,1,1,1,1,1\n", ["'Date'", "row 3", "row 1", "repeats"]),
        (HEADER + "2020-01-02,10,11,9,0,100\n", ["'Close'", "row 1 (line 2)", "> 0"]),
        (HEADER + GOOD + "2020-01-06,10,11,-9,10.5,100\n", ["'Low'", "row 3", "> 0"]),
        (HEADER + GOOD + "2020-01-06,10,11,9,10.5,-1\n", ["'Volume'", "row 3", ">= 0"]),
        (HEADER + GOOD + "2020-01-06,10,abc,9,10.5,1\n", ["'High'", "row 3", "'abc'"]),
        (HEADER + GOOD + "2020-01-06,10,11,9,,1\n", ["'Close'", "row 3", "missing"]),
        (HEADER, ["no rows"]),
        ("", ["empty"]),
    ],
)
def test_bad_csv_raises_data_error_naming_file_column_and_row(text, needles, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_bar_file(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message


def test_bad_parquet_names_the_row_without_a_line(tmp_path):
    columns = {"open": [1.0, 1.0], "high": [1.0, 1.0], "low": [1.0, -1.0], "close": [1.0, 1.0]}
    frame = pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], **columns, "volume": [0.0, 0.0]})
    frame.to_parquet(tmp_path / "bars.parquet")
    with pytest.raises(DataError, match=r"'low', row 2: -1; prices must be > 0"):
        read_bar_file(tmp_path / "bars.parquet")


def test_missing_and_unsupported_files_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_bar_file(tmp_path / "nope.csv")
    (tmp_path / "bars.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match="unsupported file type"):
        read_bar_file(tmp_path / "bars.xlsx")
    with pytest.raises(DataError, match="no bar files"):
        market_from_files({})
