"""Reports, the dashboard and /docs in a real browser (Debian's chromium through Playwright):
no console errors, no request to another host, and screenshots for docs/reports.md."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from client import Client
from tests.integration.http_server import serve

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SMA = {"strategy_id": "sma_crossover", "strategy_parameters": {"fast_period": 5, "slow_period": 20}}


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: a temporary folder, or docs/img with ``SCREENSHOTS=docs``
    (``make screenshots``), so a test run never rewrites the committed images."""
    return (
        DOCS_IMAGES if os.environ.get("SCREENSHOTS") == "docs" else tmp_path_factory.mktemp("shots")
    )


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = "chromium is not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests are mandatory)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def url(shared):
    with serve(shared.app) as address:
        yield address


class Visit:
    """A page that records console errors and every request to another host."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        host = urlparse(url).netloc
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self._check(r.url, host))

    def _check(self, address: str, host: str) -> None:
        parsed = urlparse(address)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != host:
            self.outside.append(address)

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.outside, self.outside
        self.page.close()


def test_reports_dashboard_and_docs_render_offline(browser, url, key, make_spec, shots):
    client = Client(url, api_key=key)
    backtest = client.submit_backtest(make_spec(**SMA, backtest_name="SMA 5/20 on five symbols"))
    optimization = client.optimize(
        {
            "base_spec": make_spec(**SMA),
            "parameter_ranges": {"fast_period": [3, 5, 8, 13], "slow_period": [20, 30, 40, 60]},
            "validation": {"scheme": "walk_forward", "windows": 3},
        }
    )
    assert client.wait(backtest, progress=False)["status"] == "completed"
    stress = client.stress_test(
        {
            "backtest_id": backtest.id,
            "scenarios": ["2008_financial_crisis"],
            "monte_carlo_iterations": 5000,
        }
    )

    signed_in = browser.new_context(viewport={"width": 1300, "height": 900})  # one cookie jar
    dashboard = Visit(signed_in, url)
    running = client.submit_backtest(make_spec(start_date="2015-01-01T00:00:00Z"))
    dashboard.page.goto(url + "/")
    dashboard.page.fill("#api-key", key)
    dashboard.page.click("#login button")
    dashboard.page.wait_for_selector(f"#job-{running.id}")
    dashboard.page.wait_for_function(
        f"document.querySelector('#job-{running.id} .status-completed') !== null", timeout=120_000
    )
    dashboard.page.wait_for_selector("#leaders a")
    assert "live" in dashboard.page.text_content("#live")
    dashboard.page.screenshot(path=str(shots / "dashboard.png"))
    dashboard.clean()

    assert client.wait(optimization, progress=False)["status"] == "completed"
    assert client.wait(stress, progress=False)["status"] == "completed"
    for path, shot, selectors in (
        (f"/backtests/{backtest.id}/report", "backtest_report.png", ["#distribution"]),
        (
            f"/optimization/{optimization.id}/report",
            "optimization_report.png",
            ["#heatmap", "#best-curves"],
        ),
        (f"/stress-test/{stress.id}/report", "stress_report.png", ["#fan", "#histogram"]),
    ):
        visit = Visit(signed_in, url)
        visit.page.goto(url + path)
        for selector in selectors:  # each figure drawn by plotly
            visit.page.wait_for_selector(f"{selector} .main-svg")
        time.sleep(0.5)
        visit.page.screenshot(path=str(shots / shot), full_page=True)
        visit.clean()

    docs = Visit(signed_in, url)
    docs.page.goto(url + "/docs")
    docs.page.wait_for_selector(".opblock-tag", timeout=30_000)
    assert "Nautilus Backtest" in docs.page.text_content(".info")
    docs.clean()
