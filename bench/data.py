"""Market-data figures of issue 4, on a scratch PostgreSQL database made and dropped here.

  import    a long CSV of SYMBOLS x IMPORT_DAYS daily bars (Symbol column) through the same path
            as `nautilus-bt data import`: parse + check every row, then COPY + upsert; and the
            same file again (every row unchanged)
  load      SYMBOLS x LOAD_DAYS bars read back into engine arrays (one query), cold then warm,
            and through the worker cache (a hit)
  validate  GET /data/validate for VALIDATE_SYMBOLS symbols over VALIDATE_YEARS years, through
            the Flask app (test client: no HTTP socket), cold then warm

    python bench/data.py                              # the issue's sizes (500 x 2,000 / 5,000)
    python bench/data.py --symbols 50 --import-days 500 --load-days 1000   # a quick smoke run

Bars come from the engine's synthetic generator (weekdays), so validation also reports the
holidays on which they trade; that does not change the work done.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def long_frame(symbols: list[str], days: int, offset: int = 0) -> pd.DataFrame:
    """``days`` weekdays of synthetic bars per symbol, starting ``offset`` weekdays after 2000."""
    from engine.data import synthetic_market

    start = pd.Timestamp("2000-01-03") + pd.offsets.BDay(offset)
    end = start + pd.offsets.BDay(days - 1)
    market = synthetic_market(symbols, start, end, "1d", seed=7)
    stamps = pd.DatetimeIndex(market.timestamps)
    parts = []
    for col, symbol in enumerate(market.symbols):
        fields = {f: getattr(market, f)[:, col] for f in ("open", "high", "low", "close")}
        parts.append(
            pd.DataFrame(
                {"symbol": symbol, "ts": stamps, **fields, "volume": market.volume[:, col]}
            )
        )
    return pd.concat(parts, ignore_index=True)


def bench_import(sessions, symbols: list[str], days: int, workdir: Path) -> None:
    from store.bars.imports import parse_file
    from store.data_import import import_parsed

    frame = long_frame(symbols, days)
    path = workdir / "bars.csv"
    frame.rename(columns={"ts": "Date"}).to_csv(path, index=False, date_format="%Y-%m-%d")
    print(
        f"import: {len(frame):,} bars ({len(symbols)} symbols x {days} days), file "
        f"{path.stat().st_size / 2**20:.0f} MiB"
    )
    for label in ("first", "again"):
        parsed, parse_s = timed(parse_file, path, frequency="1d")
        report, load_s = timed(import_parsed, sessions, parsed, frequency="1d", source="bench")
        print(
            f"  {label}: parse+check {parse_s:.2f} s, COPY+upsert {load_s:.2f} s, total "
            f"{parse_s + load_s:.2f} s; inserted {report['inserted']:,}, updated "
            f"{report['updated']:,}, unchanged {report['unchanged']:,}"
        )


def bench_load(sessions, symbols: list[str], days: int, import_days: int) -> None:
    from store.bars.cache import BarCache, cached_market
    from store.bars.reads import load_bars, snapshot
    from store.bars.writes import upsert_bars
    from store.db import transaction

    if days > import_days:
        with transaction(sessions) as session:
            upsert_bars(session, long_frame(symbols, days - import_days, import_days), "1d", "b")
    start, end = pd.Timestamp("2000-01-01"), pd.Timestamp("2030-01-01")
    for label in ("cold", "warm", "warm"):
        with snapshot(sessions) as session:
            bars, read_s = timed(load_bars, session, symbols, "1d", start, end)
        market, arrays_s = timed(bars.to_market)
        print(
            f"load {label}: {market.n_bars:,} bars x {len(market.symbols)} symbols: query "
            f"{read_s:.3f} s + arrays {arrays_s:.3f} s = {read_s + arrays_s:.3f} s"
        )
    cache = BarCache(4 * 2**30)
    cached_market(sessions, cache, symbols, "1d", start, end)
    _, hit_s = timed(cached_market, sessions, cache, symbols, "1d", start, end)
    print(f"load through the worker cache (hit): {hit_s * 1000:.1f} ms")


def bench_validate(url: str, symbols: list[str], years: int, workdir: Path) -> None:
    from api import create_app
    from workers.settings import load_settings

    settings = load_settings(
        {
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "NAUTILUS_VAR_DIR": str(workdir),
            "LOG_LEVEL": "WARNING",
        }
    )
    client = create_app(settings).test_client()
    end = pd.Timestamp("2000-01-03") + pd.DateOffset(years=years) - pd.Timedelta(days=1)
    query = f"symbols={','.join(symbols)}&start_date=2000-01-03&end_date={end.date()}"
    for label in ("cold", "warm", "warm"):
        response, seconds = timed(client.get, f"/data/validate?{query}")
        body = response.get_json()
        assert response.status_code == 200, body
        bars = sum(d["bar_count"] for d in body["symbol_details"].values())
        print(
            f"validate {label}: {len(symbols)} symbols x {years} years ({bars:,} bars): "
            f"{seconds * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--import-days", type=int, default=2000)
    parser.add_argument("--load-days", type=int, default=5000)
    parser.add_argument("--validate-symbols", type=int, default=50)
    parser.add_argument("--validate-years", type=int, default=10)
    args = parser.parse_args()

    import psycopg

    from store.db import make_engine, make_session_factory
    from store.schema import upgrade

    name = f"nautilus_bench_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    try:
        upgrade(url)
        sessions = make_session_factory(engine)
        symbols = [f"S{i:04d}" for i in range(args.symbols)]
        with tempfile.TemporaryDirectory() as tmp:
            bench_import(sessions, symbols, args.import_days, Path(tmp))
            bench_load(sessions, symbols, args.load_days, args.import_days)
            bench_validate(url, symbols[: args.validate_symbols], args.validate_years, Path(tmp))
    finally:
        engine.dispose()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
