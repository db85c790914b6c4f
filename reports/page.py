"""The frame every report shares: one HTML page, its CSS inline, Plotly inline or from the API.

A page never names another host: plotly.js is either written into the page (a static file
that works offline) or loaded from ``plotly_src``, a path the API serves itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from engine.metric_table import BY_NAME, GROUPS

FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
GROUP_TITLES = {"returns": "Returns", "risk": "Risk", "benchmark": "Benchmark", "trades": "Trades"}
COLORS = {"strategy": "#1f5fa8", "benchmark": "#8c8c8c", "loss": "#c0392b", "gain": "#1e8449"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;
color:#1d2430}
header{background:#12263f;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9d3e0;font-size:13px}main{padding:18px 28px;max-width:1400px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:0 0 18px;
padding:14px 18px}section h2{font-size:16px;margin:0 0 8px}.note{color:#5b6675;font-size:13px}
table{border-collapse:collapse;font-size:13px}
td,th{padding:4px 10px;border-bottom:1px solid #e6e9ee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:flex;flex-wrap:wrap;gap:24px}.stats table{min-width:300px}
.warn{background:#fff4d6;border:1px solid #e9c46a;padding:6px 10px;border-radius:6px}
a{color:#1f5fa8}
"""


@dataclass(frozen=True)
class Section:
    """One titled block of a report: a figure, a table or text (already HTML)."""

    title: str
    html: str
    note: str = ""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the ``plotly`` package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def plotly_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def figure(fig: go.Figure, div_id: str) -> str:
    """A figure's div and the script that draws it (plotly.js must be loaded before)."""
    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 40})
    return pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=FIGURE_CONFIG
    )


def page(
    title: str, facts: Sequence[str], sections: Iterable[Section], plotly_src: str | None
) -> str:
    """The whole HTML document; ``plotly_src`` None inlines plotly.js (a standalone file)."""
    script = (
        f'<script src="{escape(plotly_src)}"></script>'
        if plotly_src
        else f"<script>{plotly_js()}</script>"
    )
    body = "".join(_section(s) for s in sections)
    lines = "".join(f"<p>{fact}</p>" for fact in facts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>{script}</head>"
        f"<body><header><h1>{escape(title)}</h1>{lines}</header><main>{body}</main></body></html>"
    )


def _section(section: Section) -> str:
    note = f'<p class="note">{section.note}</p>' if section.note else ""
    return f"<section><h2>{escape(section.title)}</h2>{note}{section.html}</section>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric_from: int = 1) -> str:
    """A plain HTML table; cells from column ``numeric_from`` on are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(str(c))}</td>'
            if i >= numeric_from
            else f"<td>{escape(str(c))}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def statistics_tables(values: Mapping[str, Any]) -> str:
    """The statistics, one table per group of the metric table, each value with its unit."""
    parts = []
    for group in GROUPS:
        rows = [
            (info.label, info.format(values[name]))
            for name, info in BY_NAME.items()
            if info.group == group and name in values
        ]
        if rows:
            parts.append(
                f"<div><h3>{GROUP_TITLES[group]}</h3>{table(('metric', 'value'), rows)}</div>"
            )
    return f'<div class="stats">{"".join(parts)}</div>'


def number(value: Any, unit: str = "", digits: int = 2) -> str:
    """A number for prose: ``12.35 %``, ``n/a`` when undefined."""
    if value is None:
        return "n/a"
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()
