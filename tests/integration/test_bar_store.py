"""The bar store on both backends: upsert counts, all-or-nothing imports, versions, reads."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from engine.errors import DataError, SpecError
from store.bars.files import market_from_files
from store.bars.imports import parse_csv, parse_file
from store.bars.models import Bar
from store.bars.reads import list_series, load_bars, snapshot
from store.data_import import ImportRejected, import_parsed
from store.db import make_engine, make_session_factory
from store.schema import upgrade

GOOG = "examples/data/GOOG.csv"


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bars.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def name() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def count_bars(sessions, symbol: str) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).where(Bar.symbol == symbol))


def window(symbols, start="2000-01-01", end="2030-01-01"):
    return symbols, "1d", pd.Timestamp(start), pd.Timestamp(end)


def test_upsert_counts_inserted_updated_unchanged_and_versions(sessions):
    symbol = name()
    parsed = parse_file(GOOG, symbol=symbol)
    first = import_parsed(sessions, parsed, frequency="1d")
    assert (first["inserted"], first["updated"], first["unchanged"]) == (parsed.rows, 0, 0)
    version = first["per_symbol"][symbol]["version"]

    again = import_parsed(sessions, parsed, frequency="1d")
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, parsed.rows)
    with sessions() as session:
        (info,) = list_series(session, [symbol])
    assert info.version == version and info.bar_count == parsed.rows

    changed = parse_file(GOOG, symbol=symbol)
    changed.frame.loc[5, "close"] *= 1.01
    extra = changed.frame.iloc[[-1]].assign(ts=pd.Timestamp("2013-03-04"))
    changed = type(changed)(pd.concat([changed.frame, extra]), changed.rows + 1, {}, ())
    third = import_parsed(sessions, changed, frequency="1d")
    assert (third["inserted"], third["updated"]) == (1, 1)
    with sessions() as session:
        (info,) = list_series(session, [symbol])
    assert info.version != version and info.bar_count == parsed.rows + 1
    assert str(info.last_ts.date()) == "2013-03-04"


def test_a_bad_file_writes_nothing_and_says_why(sessions):
    symbol = name()
    text = b"Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,5\n2024-01-03,-1,2,1,2,5\n"
    with pytest.raises(ImportRejected) as caught:
        import_parsed(sessions, parse_csv(text, symbol=symbol), frequency="1d")
    assert caught.value.report["rejections"]["reasons"] == {"non_positive_price": 1}
    assert "nothing was written" in str(caught.value)
    assert count_bars(sessions, symbol) == 0
    skipped = import_parsed(
        sessions, parse_csv(text, symbol=symbol), frequency="1d", on_error="skip"
    )
    assert skipped["inserted"] == 1 and skipped["rejected"] == 1
    assert count_bars(sessions, symbol) == 1


def test_a_failing_write_rolls_back_every_symbol(sessions):
    a, b = name(), name()
    text = "Symbol,Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{s},2024-01-02,1,2,1,2,5\n" for s in (a, b)
    )
    parsed = parse_csv(text.encode())
    parsed.frame.loc[1, "low"] = -1.0  # slips past the parser: the database's CHECK refuses it
    with pytest.raises(DataError, match="refused"):
        import_parsed(sessions, parsed, frequency="1d")
    assert count_bars(sessions, a) == count_bars(sessions, b) == 0


def test_read_back_equals_the_file_and_is_one_market(sessions):
    symbol = name()
    import_parsed(sessions, parse_file(GOOG, symbol=symbol), frequency="1d")
    with snapshot(sessions) as session:
        bars = load_bars(session, *window([symbol, "MISSING"]))
    market = bars.to_market()
    direct = market_from_files({symbol: GOOG})
    assert market.symbols == (symbol, "MISSING") and market.source == "database"
    assert np.array_equal(market.timestamps, direct.timestamps)
    for field in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(market, field)[:, 0], getattr(direct, field)[:, 0])
    assert np.isnan(market.close[:, 1]).all()


def test_window_and_dataset_version(sessions):
    symbol = name()
    import_parsed(sessions, parse_file(GOOG, symbol=symbol), frequency="1d")
    with snapshot(sessions) as session:
        part = load_bars(session, *window([symbol], "2010-01-01", "2010-12-31"))
        same = load_bars(session, *window([symbol], "2010-01-01", "2010-12-31"))
    assert str(part.timestamps[0])[:10] == "2010-01-04" and len(part.timestamps) == 252
    assert part.version == same.version
    text = b"Date,Open,High,Low,Close,Volume\n2010-06-01,1,2,1,2,5\n"
    import_parsed(sessions, parse_csv(text, symbol=symbol), frequency="1d")
    with snapshot(sessions) as session:
        after = load_bars(session, *window([symbol], "2010-01-01", "2010-12-31"))
    assert after.version != part.version


def test_unknown_exchange_is_refused_before_writing(sessions):
    symbol = name()
    with pytest.raises(SpecError, match="XNYZ"):
        import_parsed(sessions, parse_file(GOOG, symbol=symbol), frequency="1d", exchange="XNYZ")
    assert count_bars(sessions, symbol) == 0


def test_many_symbols_come_back_in_request_order_and_time_order(sessions):
    a, b = name(), name()
    rows = [(s, d, p) for d, p in (("2024-01-03", 3), ("2024-01-02", 2)) for s in (b, a)]
    text = "Symbol,Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{s},{d},{p},{p},{p},{p + (s == b)},1\n" for s, d, p in rows
    )
    import_parsed(sessions, parse_csv(text.encode()), frequency="1d")
    with snapshot(sessions) as session:
        market = load_bars(session, *window([a, b])).to_market()
        lone = load_bars(session, *window([b])).symbol_bars(b, "XNYS")
    assert market.symbols == (a, b)
    assert market.close.tolist() == [[2.0, 3.0], [3.0, 4.0]]
    assert str(lone.timestamps[0])[:10] == "2024-01-02" and lone.close.tolist() == [3.0, 4.0]
