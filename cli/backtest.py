"""`nautilus-bt backtest`: run one backtest locally and print its results document."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import NautilusError


def register(subparsers) -> None:
    cmd = subparsers.add_parser("backtest", help="run one backtest locally from a spec file")
    cmd.add_argument("spec", type=Path, help="JSON file with the POST /backtests body")
    cmd.add_argument(
        "--bars",
        action="append",
        default=[],
        metavar="SYMBOL=FILE",
        help="CSV or Parquet bars for a symbol (repeatable); without it the spec's data_sources "
        "decide: stored bars (the default, from DATABASE_URL or the embedded SQLite file) or "
        '["synthetic"]',
    )
    cmd.add_argument(
        "--signals",
        type=Path,
        metavar="FILE",
        help="target weights (CSV or Parquet, long date,symbol,weight or wide) for a spec with "
        'strategy_id "target_weights"; without it the spec\'s signal_set_id is read from the store',
    )
    cmd.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="a rules document (JSON) to run instead of the spec's strategy, with its defaults "
        "(docs/strategies.md)",
    )
    cmd.add_argument("--output", choices=("json", "summary"), default="summary")
    cmd.add_argument("--report", type=Path, metavar="FILE", help="also write the HTML report here")
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    cmd.set_defaults(handler=run)


def _bar_files(pairs: list[str]) -> dict[str, str]:
    files = {}
    for pair in pairs:
        symbol, sep, path = pair.partition("=")
        if not sep or not symbol or not path:
            raise SystemExit(f"--bars expects SYMBOL=FILE, got {pair!r}")
        files[symbol] = path
    return files


def load_market(spec, bar_files: dict[str, str]):
    """Bars from the given files, else from the source the spec names: the bar store of the
    settings' database, or the labelled synthetic generator when the spec asks for it."""
    from engine.backtest import required_symbols
    from engine.data.sources import SYNTHETIC, resolve_source

    if bar_files:
        from store.bars.files import market_from_files

        return market_from_files(bar_files, frequency=spec.frequency)
    symbols = required_symbols(spec)
    if resolve_source(spec.data_sources) == SYNTHETIC:
        from engine.data import synthetic_market

        return synthetic_market(
            symbols, spec.start_date, spec.end_date, spec.frequency, seed=spec.data_seed
        )
    from cli.data import sessions
    from store.bars.cache import cached_market

    return cached_market(sessions(), None, symbols, spec.frequency, spec.start_date, spec.end_date)


def load_signals(spec, path: Path | None):
    """The weights of a ``target_weights`` spec: from ``path``, else the stored signal set."""
    from engine.errors import DataError
    from engine.signals import TARGET_WEIGHTS

    if spec.strategy_id != TARGET_WEIGHTS:
        return None
    if path is not None:
        from store.data_import import ImportRejected
        from store.signal_import import parse_signals

        parsed = parse_signals(path.read_bytes(), path.name, spec.frequency)
        if parsed.rejected:
            raise ImportRejected(parsed.report(), skip_hint=False)
        return parsed.weights
    if not spec.signal_set_id:
        raise DataError("target_weights needs --signals FILE or a signal_set_id in the spec")
    from cli.data import sessions
    from store.signal_sets import get_signal_set, signal_weights

    with sessions()() as session:
        row = get_signal_set(session, spec.signal_set_id, None)
        if row is None:
            raise DataError(f"no signal set {spec.signal_set_id!r} in the store")
        return signal_weights(row)


def run(args: argparse.Namespace) -> int:
    from cli.progress import progress_bar
    from engine.backtest import run_backtest
    from engine.spec import parse_spec
    from tasks.kernels import configure
    from workers.settings import get_settings

    configure(get_settings(), processes=1)
    try:
        payload = json.loads(args.spec.read_text())
        if args.rules is not None:  # the document's defaults, unless the spec is a rules spec
            params = payload.get("strategy_parameters") if payload.get("strategy") else {}
            rules = json.loads(args.rules.read_text())
            payload |= {"strategy_id": "rules", "strategy": rules, "strategy_parameters": params}
        spec = parse_spec(payload)
        with progress_bar("backtest", enabled=not args.no_progress) as update:
            update(0.0, "loading data")
            market = load_market(spec, _bar_files(args.bars))
            signals = load_signals(spec, args.signals)
            result = run_backtest(spec, market, progress=update, signals=signals)
    except (NautilusError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    document = result.document()
    if args.report:
        write_report(args.report, document, spec.to_payload())
    if args.output == "json":
        json.dump(document, sys.stdout, indent=2)
        print()
    else:
        from cli.summary import print_summary

        print_summary(document)
    return 0


def write_report(path: Path, document: dict, spec: dict) -> None:
    """The standalone HTML report (plotly.js inline: it opens offline, from any folder)."""
    from reports.backtest import render_backtest_report

    path.write_text(render_backtest_report(json.loads(json.dumps(document)), spec))
    print(f"report written to {path}", file=sys.stderr)
