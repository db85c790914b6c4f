"""`nautilus-bt data ...`: import bar files, list stored series, validate, fetch from providers.

Commands use the database of the settings (``DATABASE_URL``, else the embedded SQLite file,
whose schema they create). Exit status: 0 done, 1 the data was refused or is not ready, 2 the
command itself was wrong (bad option, unreadable file, provider unreachable or key missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.data.calendars import BAR_MINUTES
from engine.errors import DataError, NautilusError

FREQUENCIES = tuple(BAR_MINUTES)


def register(subparsers: Any) -> None:
    data = subparsers.add_parser("data", help="market data: import, list, validate, fetch")
    commands = data.add_subparsers(dest="data_command", required=True)
    _import_parser(commands)
    listing = commands.add_parser("symbols", help="list stored series with ranges and counts")
    listing.add_argument("--frequency", choices=FREQUENCIES)
    listing.set_defaults(handler=run_symbols)
    check = commands.add_parser("validate", help="the /data/validate report for stored bars")
    check.add_argument("symbols", help="comma-separated symbols, e.g. SPY,QQQ")
    check.add_argument("--start", required=True, help="first date, ISO 8601")
    check.add_argument("--end", required=True, help="last date, ISO 8601")
    check.add_argument("--frequency", default="1d", choices=FREQUENCIES)
    check.set_defaults(handler=run_validate)
    samples = commands.add_parser("samples", help="import the real daily bars in examples/data")
    samples.set_defaults(handler=run_samples)
    from cli.data_fetch import register_fetch

    register_fetch(commands)


def _import_parser(commands: Any) -> None:
    cmd = commands.add_parser("import", help="upsert bars from a CSV or Parquet file")
    cmd.add_argument("file", help="CSV (.csv, .csv.gz, .txt) or Parquet file of bars")
    cmd.add_argument("--symbol", help="the file's symbol (unless it has a Symbol column)")
    cmd.add_argument("--frequency", default="1d", choices=FREQUENCIES)
    cmd.add_argument("--exchange", help="calendar of the symbol's exchange (default XNYS)")
    cmd.add_argument("--source", default="csv", help="where the bars came from (default csv)")
    cmd.add_argument(
        "--on-error",
        default="reject",
        choices=("reject", "skip"),
        help="reject: write nothing if any row is bad (default); skip: load the good rows",
    )
    cmd.set_defaults(handler=run_import)


def sessions() -> Any:
    """A session factory on the settings' database (the embedded one gets its schema)."""
    from store.db import make_engine, make_session_factory
    from workers.settings import get_settings

    url = get_settings().database_url
    if url.startswith("sqlite"):
        from store.schema import upgrade

        upgrade(url)
    return make_session_factory(make_engine(url))


def run_import(args: argparse.Namespace) -> int:
    from store.bars.imports import parse_file

    options = {"symbol": args.symbol, "frequency": args.frequency, "exchange": args.exchange}
    try:
        return import_and_report(parse_file(args.file, **options), args, args.source)
    except NautilusError as exc:
        return fail(str(exc), 1 if isinstance(exc, DataError) else 2)


def import_and_report(parsed, args: argparse.Namespace, source: str) -> int:
    """Store parsed bars and print the import report; a rejected import prints why (exit 1)."""
    from store.data_import import ImportRejected, import_parsed

    try:
        report = import_parsed(
            sessions(),
            parsed,
            frequency=args.frequency,
            source=source,
            exchange=args.exchange,
            on_error=args.on_error,
        )
    except ImportRejected as exc:
        emit(exc.report)
        return fail(str(exc), 1)
    emit(report)
    return 0


def run_samples(args: argparse.Namespace) -> int:
    from cli.samples import import_samples

    for symbol, report in import_samples(sessions()).items():
        counts = f"{report['inserted']} new, {report['unchanged']} unchanged"
        print(f"{symbol}: {report['rows']} bars ({counts})")
    return 0


def run_symbols(args: argparse.Namespace) -> int:
    from store.bars.reads import list_series, snapshot

    with snapshot(sessions()) as session:
        series = list_series(session, frequency=args.frequency)
    for s in series:
        first = s.first_ts.date() if s.first_ts else "-"
        last = s.last_ts.date() if s.last_ts else "-"
        print(f"{s.symbol:<12} {s.frequency:<4} {s.exchange:<6} {s.bar_count:>9} {first} {last}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from store.bars.reads import snapshot
    from store.data_validation import validate_stored

    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    try:
        start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
        with snapshot(sessions()) as session:
            checked = validate_stored(session, symbols, start, end, args.frequency)
    except (ValueError, NautilusError) as exc:
        return fail(str(exc), 2)
    emit(checked.report)
    return 0 if checked.ready else 1


def emit(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    print()


def fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
