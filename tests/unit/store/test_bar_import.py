"""Each common CSV shape parses to the same bars; bad rows are rejected with their reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from store.bars.imports import parse_csv, parse_file, parse_records

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]
ROWS = [(10.0, 11.0, 9.5, 10.5, 1000), (10.5, 12.0, 10.0, 11.5, 1200), (11.5, 11.8, 11.0, 11.2, 0)]


def csv(header: str, times: list, rows=ROWS, extra=lambda r: "") -> bytes:
    lines = [header] + [
        f"{t}," + ",".join(str(v) for v in r) + extra(r) for t, r in zip(times, rows, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def epoch(unit: int) -> list[int]:
    return [int(pd.Timestamp(d, tz="UTC").timestamp()) * unit for d in DAYS]


SHAPES = {
    "yahoo": csv("Date,Open,High,Low,Close,Volume,Adj Close", DAYS, extra=lambda r: ",1.23"),
    "yahoo_adj_before_volume": (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        + "".join(
            f"{d},{o},{h},{lo},{c},{c * 0.9},{v}\n"
            for d, (o, h, lo, c, v) in zip(DAYS, ROWS, strict=True)
        )
    ).encode(),
    "lower_case": csv("date,open,high,low,close,volume", DAYS),
    "upper_spaced": csv(" DATE , OPEN ,HIGH,LOW,CLOSE, VOLUME ", DAYS),
    "iso_utc": csv("timestamp,open,high,low,close,volume", [f"{d}T00:00:00Z" for d in DAYS]),
    "iso_offset": csv("Datetime,Open,High,Low,Close,Volume", [f"{d}T02:00:00+02:00" for d in DAYS]),
    "epoch_seconds": csv("timestamp,open,high,low,close,volume", epoch(1)),
    "epoch_millis": csv("time,open,high,low,close,volume", epoch(1000)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_gives_the_same_bars(shape):
    parsed = parse_csv(SHAPES[shape], symbol="ABC")
    assert parsed.rejected == 0 and parsed.rows == 3
    frame = parsed.frame
    assert list(frame["ts"].astype(str)) == DAYS
    assert (frame["symbol"] == "ABC").all()
    expected = np.array(ROWS, dtype=float)
    assert np.array_equal(frame[["open", "high", "low", "close", "volume"]].to_numpy(), expected)


def test_daily_bars_stamped_at_the_open_become_their_session_date():
    opens = [f"{d}T14:30:00Z" for d in DAYS]
    parsed = parse_csv(csv("Date,Open,High,Low,Close,Volume", opens), symbol="ABC")
    assert list(parsed.frame["ts"].astype(str)) == DAYS


def test_a_symbol_column_holds_many_symbols():
    text = (
        b"Symbol,Date,Open,High,Low,Close,Volume\n"
        b"AAA,2024-01-02,1,2,1,2,5\nBBB,2024-01-02,3,4,3,4,6\n"
    )
    parsed = parse_csv(text)
    assert parsed.frame["symbol"].tolist() == ["AAA", "BBB"]
    only = parse_csv(text, symbol="AAA")
    assert only.frame["symbol"].tolist() == ["AAA"] and only.reasons == {"bad_symbol": 1}


def test_json_records_parse_like_csv():
    records = [
        {"timestamp": f"{d}T00:00:00Z", "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for d, (o, h, lo, c, v) in zip(DAYS, ROWS, strict=True)
    ]
    frame = parse_records(records, symbol="ABC").frame
    assert frame.equals(parse_csv(SHAPES["lower_case"], symbol="ABC").frame)


def test_bad_rows_are_counted_by_reason_with_examples():
    text = (
        b"Date,Open,High,Low,Close,Volume\n"
        b"2024-01-02,10,11,9,10,100\n"
        b"02/01/2024x,10,11,9,10,100\n"
        b"2024-01-04,-10,11,9,10,100\n"
        b"2024-01-05,10,11,9,abc,100\n"
        b"2024-01-08,10,11,9,10,-5\n"
        b"2024-01-02,10,11,9,10,100\n"
    )
    parsed = parse_csv(text, symbol="ABC")
    assert parsed.rows == 6 and len(parsed.frame) == 1
    assert parsed.reasons == {
        "unparseable_time": 1,
        "non_positive_price": 1,
        "not_a_number": 1,
        "negative_volume": 1,
        "duplicate_timestamp": 1,
    }
    first = {e["reason"]: e for e in parsed.examples}
    assert first["unparseable_time"]["row"] == "row 2 (line 3)"
    assert first["non_positive_price"]["column"] == "open"
    assert first["non_positive_price"]["value"] == "-10"
    assert first["duplicate_timestamp"]["row"] == "row 6 (line 7)"


def test_intraday_times_must_lie_on_the_bar_grid():
    text = (
        b"Datetime,Open,High,Low,Close,Volume\n"
        b"2024-01-02T14:30:00Z,1,1,1,1,1\n2024-01-02T14:33:00Z,1,1,1,1,1\n"
    )
    parsed = parse_csv(text, symbol="ABC", frequency="5m")
    assert parsed.reasons == {"off_grid_time": 1}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"Date,Open,High,Low,Price,Volume\n2024-01-02,1,1,1,1,1\n", "missing column"),
        (b"Day,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,1\n", "no time column"),
        (b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n", "Volume"),
        (b"Date,Open,High,Low,Close,Volume\n", "no rows"),
    ],
)
def test_wrong_columns_reject_the_whole_file(text, match):
    with pytest.raises(DataError, match=match):
        parse_csv(text, symbol="ABC")


def test_a_file_without_symbol_needs_one():
    with pytest.raises(DataError, match="--symbol"):
        parse_csv(SHAPES["lower_case"])


def test_goog_file_parses_without_rejections():
    parsed = parse_file("examples/data/GOOG.csv", symbol="GOOG")
    assert parsed.rejected == 0 and parsed.rows == len(parsed.frame) > 2000
