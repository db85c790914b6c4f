"""A results document for people: the headline lines and the full statistics table with units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.metric_table import BY_NAME, GROUPS


def statistics_table(statistics: Mapping[str, Any]) -> Table:
    """Every statistic of the document, grouped as in the metric table, each with its unit."""
    table = Table(title="Statistics", show_lines=False)
    table.add_column("group")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for group in GROUPS:
        for name, info in BY_NAME.items():
            if info.group == group and name in statistics:
                table.add_row(group, info.label, info.format(statistics[name]))
    return table


def headline(document: Mapping[str, Any]) -> list[str]:
    """Where the data came from, what ran and how long it took."""
    summary = document["execution_summary"]
    synthetic = " (SYNTHETIC, not market data)" if summary.get("synthetic_data") else ""
    return [
        f"{document['backtest_name']} ({summary['start_date'][:10]} to {summary['end_date'][:10]})",
        f"  data: {summary['data_source']}{synthetic}",
        f"  trades: {document['trades_summary']['total_trades']}, "
        f"orders: {summary['orders_executed']}, device: {summary['hardware_used']}, "
        f"time: {summary['processing_time_ms']:.1f} ms",
    ]


def print_summary(document: Mapping[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for line in headline(document):
        console.print(line, highlight=False)
    console.print(statistics_table(document.get("statistics") or {}))
