"""The backtest report: every block drawn from the document, nothing fetched from elsewhere."""

from __future__ import annotations

import re

from reports.backtest import render_backtest_report
from reports.page import plotly_version

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_the_page_loads_plotly_from_the_given_path_only(goog):
    document, spec = goog
    html = render_backtest_report(document, spec, plotly_src="/assets/plotly.min.js")
    assert html.count("<script src=") == 1 and 'src="/assets/plotly.min.js"' in html
    assert not EXTERNAL.search(html)
    assert len(html) < 2_000_000


def test_a_standalone_page_carries_plotly_inline(goog):
    document, spec = goog
    html = render_backtest_report(document, spec)
    assert "<script src=" not in html
    assert f"v{plotly_version()}" in html or plotly_version() in html
    assert len(html) > 3_000_000


def test_every_block_and_statistic_with_its_unit(goog):
    document, spec = goog
    html = render_backtest_report(document, spec, plotly_src="/p.js")
    for div in ("equity", "drawdown", "monthly", "rolling", "exposure", "trades", "distribution"):
        assert f'id="{div}"' in html, div
    for text in (
        "Total return",
        "462.64 %",
        "System quality number (SQN)",
        "1.584",
        "Kelly criterion",
        "Max drawdown duration",
        "830.0 days",
        "log scale",
        "(synthetic data" if document["execution_summary"]["synthetic_data"] else "file",
    ):
        assert text in html, text


def test_sections_read_without_are_left_out(goog):
    document, spec = goog
    lean = {k: v for k, v in document.items() if k not in ("positions", "prices", "trades")}
    html = render_backtest_report(lean, spec, plotly_src="/p.js")
    assert 'id="equity"' in html and 'id="exposure"' not in html and 'id="trades"' not in html
