"""`nautilus-bt data fetch PROVIDER SYMBOL`: download bars from a provider into the store.

``yahoo`` and ``alpha_vantage`` bars are checked like a file import and upserted with the
provider as their source; ``fred`` series are economic observations, not bars, so they are
written as CSV (to ``--output`` or standard output) for use alongside the backtest.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.data.calendars import BAR_MINUTES
from engine.errors import DataError, NautilusError

PROVIDERS = ("yahoo", "alpha_vantage", "fred")


def register_fetch(commands: Any) -> None:
    cmd = commands.add_parser("fetch", help="download bars (or a FRED series) from a provider")
    cmd.add_argument("provider", choices=PROVIDERS)
    cmd.add_argument("symbol", help="ticker, or FRED series id such as GDP")
    cmd.add_argument("--start", required=True, help="first date, ISO 8601")
    cmd.add_argument("--end", required=True, help="last date, ISO 8601")
    cmd.add_argument("--frequency", default="1d", choices=tuple(BAR_MINUTES))
    cmd.add_argument("--exchange", help="calendar of the symbol's exchange (default XNYS)")
    cmd.add_argument("--on-error", default="reject", choices=("reject", "skip"))
    cmd.add_argument("--output", help="FRED only: CSV file to write (default: standard output)")
    cmd.set_defaults(handler=run_fetch)


def adapter(name: str) -> Any:
    """The provider's adapter, configured from the settings (keys, timeout)."""
    from store.providers.alpha_vantage import AlphaVantage
    from store.providers.fred import Fred
    from store.providers.yahoo import YahooFinance
    from workers.settings import get_settings

    s = get_settings()
    if name == "yahoo":
        return YahooFinance(timeout_s=s.provider_timeout_s)
    if name == "alpha_vantage":
        return AlphaVantage(s.alphavantage_api_key, timeout_s=s.provider_timeout_s)
    return Fred(s.fred_api_key, timeout_s=s.provider_timeout_s)


def run_fetch(args: argparse.Namespace) -> int:
    import pandas as pd

    from cli.data import fail, import_and_report

    start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
    try:
        source = adapter(args.provider)
        if args.provider == "fred":
            return write_series(source.series(args.symbol, start, end), args.output)
        parsed = source.bars(args.symbol, start, end, args.frequency)
        return import_and_report(parsed, args, source.source)
    except NautilusError as exc:
        return fail(str(exc), 1 if isinstance(exc, DataError) else 2)


def write_series(series: Any, output: str | None) -> int:
    text = series.to_frame("value").to_csv(date_format="%Y-%m-%d")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0
