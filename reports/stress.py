"""The stress-test report: the stored stress document in, HTML out.

The fan chart of the book's value over the horizon (per-day percentiles of the base run's first
paths), the terminal-return distribution with VaR and CVaR marked, the percentiles of the base
run and of each stressed scenario run side by side, and the scenario table.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np
import plotly.graph_objects as go

from reports.page import COLORS, Section, figure, number, page, table

TAIL_LINES = (
    ("var_95", "VaR 95", "dash"),
    ("cvar_95", "CVaR 95", "dot"),
    ("var_99", "VaR 99", "dashdot"),
)


def histogram_figure(mc: Mapping[str, Any]) -> go.Figure:
    """Simulated returns over the horizon (percent of the start value), tail figures marked."""
    edges = np.asarray(mc["histogram"]["bin_edges"], dtype=float)
    centers, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    fig = go.Figure(
        go.Bar(
            x=centers,
            y=mc["histogram"]["counts"],
            width=widths,
            name="paths",
            marker_color=COLORS["strategy"],
        )
    )
    for key, label, dash in TAIL_LINES:
        if mc.get(key) is not None:
            fig.add_vline(
                x=mc[key],
                line={"color": COLORS["loss"], "dash": dash},
                annotation_text=f"{label} {mc[key]:.2f}%",
            )
    fig.update_layout(
        xaxis_title=f"return over {mc['horizon_days']} days (%)",
        yaxis_title="paths",
        bargap=0,
        height=400,
    )
    return fig


FAN_BANDS = (("p5", "p95", 0.15), ("p25", "p75", 0.3))


def fan_figure(fan: Mapping[str, Any]) -> go.Figure:
    """Per-day value percentiles: 5-95 and 25-75 bands around the median path value."""
    days, levels = fan["days"], fan["percentiles"]
    fig = go.Figure()
    for low, high, opacity in FAN_BANDS:
        fig.add_scatter(x=days, y=levels[high], mode="lines", line_width=0, showlegend=False)
        fig.add_scatter(
            x=days,
            y=levels[low],
            mode="lines",
            line_width=0,
            fill="tonexty",
            fillcolor=f"rgba(31,95,168,{opacity})",
            name=f"{low[1:]}-{high[1:]}th percentile",
        )
    fig.add_scatter(
        x=days, y=levels["p50"], mode="lines", name="median", line_color=COLORS["strategy"]
    )
    fig.update_layout(xaxis_title="day", yaxis_title="book value", height=400)
    return fig


def percentiles_figure(document: Mapping[str, Any]) -> go.Figure:
    """Return percentiles (p1 .. p99) of the base run and each stressed run: how far each
    scenario moves the whole distribution."""
    runs = [("base", document["monte_carlo"])]
    runs += [(s["name"], s["monte_carlo"]) for s in document["scenarios"] if s.get("monte_carlo")]
    fig = go.Figure()
    for name, mc in runs:
        levels = list(mc["return_percentiles"])
        fig.add_scatter(
            x=levels,
            y=[mc["return_percentiles"][p] for p in levels],
            name=name,
            mode="lines+markers",
        )
    fig.update_layout(xaxis_title="percentile of paths", yaxis_title="return (%)", height=380)
    return fig


def scenarios_html(document: Mapping[str, Any]) -> str:
    rows = [
        (
            s["name"],
            number(s["pnl"]),
            number(s["return_pct"], "%"),
            "n/a" if s.get("probability") is None else f"{s['probability']:.3g}",
            number(s.get("weighted_loss")),
            number((s.get("monte_carlo") or {}).get("var_95"), "%"),
        )
        for s in document["scenarios"]
    ]
    headers = ("scenario", "P&L", "return", "probability", "weighted loss", "stressed VaR 95")
    return table(headers, rows)


def tail_html(mc: Mapping[str, Any]) -> str:
    rows = [
        ("mean return", number(mc["mean_return"], "%")),
        ("probability of loss", number(mc["probability_of_loss"], "%")),
        ("VaR 95 / CVaR 95", f"{number(mc['var_95'], '%')} / {number(mc['cvar_95'], '%')}"),
        ("VaR 99 / CVaR 99", f"{number(mc['var_99'], '%')} / {number(mc['cvar_99'], '%')}"),
        ("VaR 95 amount", number(mc["var_95_amount"])),
        ("mean max drawdown", number(mc["max_drawdown"]["mean"], "%")),
    ]
    return table(("figure", "value"), rows)


def render_stress_report(
    job_id: str, document: Mapping[str, Any], plotly_src: str | None = None
) -> str:
    """The report of a completed stress test's results document."""
    mc = document.get("monte_carlo")
    sections = []
    if mc:
        if mc.get("fan"):
            sections.append(
                Section(
                    "Value over the horizon",
                    figure(fan_figure(mc["fan"]), "fan"),
                    f"Percentiles of the book's value on each day across the first "
                    f"{mc['fan']['paths']:,} of the base run's {mc['iterations']:,} paths "
                    "(the same paths, re-drawn day by day).",
                )
            )
        sections += [
            Section(
                "Terminal returns",
                figure(histogram_figure(mc), "histogram"),
                f"{mc['iterations']:,} paths, {escape(mc['method'])}, seed {mc['seed']}; "
                "VaR is the return at the tail quantile, CVaR the mean beyond it.",
            ),
            Section("Tail figures", tail_html(mc)),
            Section(
                "Return percentiles, base and stressed",
                figure(percentiles_figure(document), "percentiles"),
            ),
        ]
    if document["scenarios"]:
        sections.append(Section("Scenarios", scenarios_html(document)))
    book = document["book"]
    facts = [
        f"book value {book['value']:,.2f} (cash {book['cash']:,.2f}) · "
        f"{len(book['positions'])} positions · worst scenario: "
        f"{escape(str(document.get('worst_scenario')))}",
        f"expected loss {number(document.get('expected_loss'))} · computed on "
        f"{escape(str(document.get('hardware_used')))}",
    ]
    return page(f"Stress test report: {job_id}", facts, sections, plotly_src)
