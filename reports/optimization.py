"""The optimization report: the stored result, its trials and the job's summary in, HTML out.

Heatmaps of every pair of searched parameters (each cell the best trial with those two values,
the other parameters aggregated by taking the best), in-sample against out-of-sample scores,
the validation windows, the overfitting figures explained, and the best parameter sets with
their equity curves (re-simulated by the worker when the job finished, stored with the result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from itertools import combinations
from typing import Any

import plotly.graph_objects as go

from engine.metric_table import display, metric_info
from engine.optimize.results import heatmap, ranked
from engine.optimize.targets import Target
from reports.page import Section, figure, number, page, table

BEST_SETS = 10


def target_of(summary: Mapping[str, Any]) -> Target:
    info = metric_info(summary["optimization_target"])
    return Target(info.name, summary["direction"], info.transform)


def heatmap_figure(trials: Sequence[Mapping], summary: Mapping[str, Any]) -> go.Figure:
    """One heatmap per parameter pair, chosen from a menu (the first pair shown)."""
    target, names = target_of(summary), summary["parameters"]
    window = summary["selection_window"]
    maps = [heatmap(trials, target, x, y, window) for x, y in combinations(names, 2)]
    fig = go.Figure()
    for i, m in enumerate(maps):
        fig.add_heatmap(
            z=m["z"],
            x=[str(v) for v in m["x_values"]],
            y=[str(v) for v in m["y_values"]],
            visible=i == 0,
            colorscale="Viridis",
            colorbar={"title": target.metric},
            hovertemplate=f"{m['x']}=%{{x}}<br>{m['y']}=%{{y}}<br>%{{z:.4g}}<extra></extra>",
        )
    buttons = [
        {
            "label": f"{m['x']} x {m['y']}",
            "method": "update",
            "args": [
                {"visible": [j == i for j in range(len(maps))]},
                {"xaxis.title.text": m["x"], "yaxis.title.text": m["y"]},
            ],
        }
        for i, m in enumerate(maps)
    ]
    first = maps[0]
    fig.update_layout(
        updatemenus=[{"buttons": buttons, "x": 0, "y": 1.15, "xanchor": "left"}],
        xaxis_title=first["x"],
        yaxis_title=first["y"],
        height=480,
    )
    return fig


def window_pairs(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(train, test) window names of each fold (none without out-of-sample windows)."""
    names = summary["windows"]
    if names == ["in_sample", "out_of_sample"]:
        return [("in_sample", "out_of_sample")]
    return [(a, b) for a, b in zip(names[::2], names[1::2], strict=True) if a.endswith("_train")]


def scatter_figure(trials: Sequence[Mapping], summary: Mapping[str, Any]) -> go.Figure:
    """Every searched set's in-sample score against its out-of-sample score, per fold."""
    metric = summary["optimization_target"]
    fig = go.Figure()
    for train, test in window_pairs(summary):
        pool = [t for t in trials if t.get("searched", True)]
        xs = [display(metric, (t["scores"].get(train) or {}).get(metric)) for t in pool]
        ys = [display(metric, (t["scores"].get(test) or {}).get(metric)) for t in pool]
        text = [", ".join(f"{k}={v}" for k, v in t["params"].items()) for t in pool]
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="markers",
            name=train.removesuffix("_train"),
            text=text,
            hovertemplate="%{text}<br>IS %{x:.4g} / OOS %{y:.4g}<extra></extra>",
        )
    fig.update_layout(
        xaxis_title=f"in-sample {metric}", yaxis_title=f"out-of-sample {metric}", height=420
    )
    return fig


def windows_figure(validation: Mapping[str, Any]) -> go.Figure:
    """Each fold's training and test bars, labelled with its winner's scores."""
    fig = go.Figure()
    for i, fold in enumerate(validation.get("folds") or [], start=1):
        for part, color in (("train", "#1f5fa8"), ("test", "#e67e22")):
            span = fold.get(part)
            if span:
                score = fold.get("in_sample_score" if part == "train" else "out_of_sample_score")
                fig.add_bar(
                    y=[f"fold {i}"],
                    x=[span["bars"]],
                    base=[span["start_bar"]],
                    orientation="h",
                    marker_color=color,
                    name=part,
                    showlegend=i == 1,
                    text=[f"{part} {number(score, digits=3)}"],
                    textposition="inside",
                )
    fig.update_layout(
        barmode="overlay", xaxis_title="bar", height=120 + 40 * len(validation.get("folds") or [])
    )
    return fig


def overfitting_html(validation: Mapping[str, Any]) -> str:
    """PBO and the deflated Sharpe ratio with what each number means."""
    pbo = validation.get("probability_of_backtest_overfitting") or {}
    dsr = validation.get("deflated_sharpe_ratio") or {}
    rows = [
        (
            "Probability of backtest overfitting (CSCV)",
            number(pbo.get("pbo"), digits=3),
            "Share of the combinatorial splits in which the set that was best in-sample ranked "
            "below the median out-of-sample. Near 0: the ranking holds up; 0.5 or more: the "
            "winner is luck.",
        ),
        (
            "Probability of out-of-sample loss",
            number(pbo.get("probability_of_oos_loss"), digits=3),
            "Share of splits in which the in-sample winner lost money out of sample.",
        ),
        (
            "Deflated Sharpe ratio",
            number(dsr.get("dsr"), digits=3),
            "Probability that the winner's true Sharpe ratio is above zero once the number of sets "
            f"tried ({dsr.get('n_trials', 'n/a')}), the length of the sample and the skew and "
            "kurtosis of its returns are accounted for (Bailey and López de Prado). Above 0.95: "
            "significant.",
        ),
        (
            "Expected maximum Sharpe ratio of luck",
            number(dsr.get("expected_max_sharpe_ratio"), digits=3),
            "The best annualised Sharpe ratio that as many sets with no skill would be expected "
            "to show.",
        ),
        (
            "Walk-forward efficiency",
            number(validation.get("walk_forward_efficiency"), digits=3),
            "Mean out-of-sample score over mean in-sample score of the fold winners.",
        ),
    ]
    return table(("figure", "value", "what it means"), rows, numeric_from=1)


def best_sets_html(trials: Sequence[Mapping], summary: Mapping[str, Any]) -> str:
    target, window = target_of(summary), summary["selection_window"]
    rows = []
    for rank, trial in enumerate(ranked(trials, target, window)[:BEST_SETS], start=1):
        score = display(target.metric, (trial["scores"].get(window) or {}).get(target.metric))
        params = ", ".join(f"{k}={v}" for k, v in trial["params"].items())
        rows.append((rank, params, metric_info(target.metric).format(score)))
    return table(("rank", "parameters", f"{target.metric} ({window})"), rows, numeric_from=2)


def curves_figure(curves: Mapping[str, Any]) -> go.Figure:
    """The best sets' equity over the base spec's dates, the selection window shaded."""
    fig = go.Figure()
    for curve in curves["curves"]:
        params = ", ".join(f"{k}={v}" for k, v in curve["parameters"].items())
        fig.add_scatter(
            x=curves["timestamps"],
            y=curve["equity"],
            mode="lines",
            name=f"#{curve['rank']} {params}",
            hovertemplate="%{x}<br>%{y:,.2f}<extra></extra>",
        )
    window = curves.get("selection_window")
    if window:
        fig.add_vrect(
            x0=window["start"],
            x1=window["end"],
            fillcolor="#1f5fa8",
            opacity=0.07,
            line_width=0,
            annotation_text=f"{window['name']} (sets ranked here)",
            annotation_position="top left",
        )
    fig.update_layout(yaxis_title="equity", height=440, legend={"orientation": "h", "y": -0.15})
    return fig


def render_optimization_report(
    status: Mapping[str, Any],
    trials: Sequence[Mapping],
    summary: Mapping[str, Any],
    plotly_src: str | None = None,
) -> str:
    """The report of an optimization: its status document, scored trials and job summary."""
    s = status.get("optimization_summary") or {}
    validation = status.get("validation") or {}
    sections = [Section("Best parameter sets", best_sets_html(trials, summary))]
    curves = status.get("best_set_curves")
    if curves and curves["curves"]:
        sections.append(
            Section(
                "Equity curves of the best sets",
                figure(curves_figure(curves), "best-curves"),
                f"The {len(curves['curves'])} best sets re-run as single backtests on the same "
                "data over the whole dates; the shaded window is where they were ranked, the "
                "rest is out of sample.",
            )
        )
    if len(summary["parameters"]) >= 2:
        sections.append(
            Section(
                "Parameter heatmap",
                figure(heatmap_figure(trials, summary), "heatmap"),
                "Each cell: the best set with those two values (other parameters "
                "take their best values). Pick another pair from the menu.",
            )
        )
    if window_pairs(summary) and summary["windows"] != ["full"]:
        sections.append(
            Section(
                "In-sample vs out-of-sample", figure(scatter_figure(trials, summary), "scatter")
            )
        )
        sections.append(
            Section("Validation windows", figure(windows_figure(validation), "windows"))
        )
    sections.append(Section("Overfitting", overfitting_html(validation)))
    facts = [
        f"target {escape(str(s.get('optimization_target')))} ({escape(str(s.get('direction')))}) · "
        f"method {escape(str(s.get('method')))} · {s.get('iterations_completed')} sets scored",
        f"original {escape(str((status.get('parameters') or {}).get('original')))} → "
        f"optimized {escape(str((status.get('parameters') or {}).get('optimized')))}",
    ]
    return page(f"Optimization report: {status['optimization_id']}", facts, sections, plotly_src)
