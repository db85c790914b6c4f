"""`nautilus-bt demo`: a backtest on real bars through the REST API of a locally started service.

The shipped sample bars (``examples/data``) are imported first; with ``--serve`` the service
keeps running afterwards (``make run``), else it stops once the results are printed (``make
demo``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from cli.processes import free_port, port_free
from cli.rest_client import RestClient
from cli.samples import import_samples
from cli.stack import Stack, StackError
from cli.summary import print_summary
from workers.redis_client import make_redis
from workers.settings import Settings
from workers.subscriber import job_events

DEMO_SPEC: dict[str, Any] = {
    "backtest_name": "Demo: momentum across GOOG and the NASDAQ, 2005-2012",
    "backtest_type": "strategy_validation",
    "description": "nautilus-bt demo on the real daily bars in examples/data",
    "start_date": "2005-01-03T00:00:00Z",
    "end_date": "2012-12-31T00:00:00Z",
    "frequency": "1d",
    "symbols": ["GOOG", "IXIC"],
    "data_sources": ["database"],
    "strategy_id": "momentum_factor",
    "strategy_parameters": {
        "lookback_period": 60,
        "momentum_threshold": 0.0,
        "rebalance_frequency": "monthly",
        "top_k": 1,
    },
    "initial_capital": 1_000_000.0,
    "commission_rate": 0.001,
    "slippage_basis_points": 1.0,
    "benchmark_symbol": "SPX",
    "risk_free_rate": 0.02,
}
TERMINAL = ("completed", "failed", "cancelled")


def run_demo(settings: Settings, port: int | None, timeout: float, serve: bool = False) -> int:
    host = "127.0.0.1"
    port = port or (settings.port if port_free(host, settings.port) else free_port(host))
    with Stack(settings, host, port) as stack:
        try:
            stack.start()
        except StackError as exc:
            print(f"error: {exc}")
            return 1
        print(f"API at {stack.url} (docs at {stack.url}/docs)")
        print_key(stack)
        print_samples(import_samples(stack.sessions()))
        client = RestClient(stack.url, api_key=stack.api_key)
        code, job_id = submit_and_follow(client, settings, timeout)
        if serve and code == 0:
            print_links(stack.url, job_id)
            stack.serve_until_signal()
        return code


def print_key(stack: Stack) -> None:
    path = stack.settings.var_dir / "api-key"
    print(f"API key of this machine (owner local, admin), saved in {path}; the demo uses it:")
    print(f"  {stack.api_key}")
    print("  the dashboard asks for it once; scripts send it as 'Authorization: Bearer <key>'")
    print(f"  or run: export NAUTILUS_API_KEY=$(cat {path})")


def print_samples(reports: dict[str, dict[str, Any]]) -> None:
    for symbol, report in reports.items():
        print(f"sample bars {symbol}: {report['rows']} daily bars ({report['inserted']} new)")


def submit_and_follow(client: RestClient, settings: Settings, timeout: float) -> tuple[int, str]:
    """Submit the demo, print its events and results; ``(exit status, job id)``."""
    status, created = client.post("/backtests", DEMO_SPEC)
    if status != 202:
        print(f"error: POST /backtests answered {status}: {created}")
        return 1, ""
    job_id = created["execution_id"]
    print(f"submitted {job_id} to {created['queue']}")
    follow(settings, job_id, timeout)
    status, job = client.get(f"/backtests/{job_id}")
    print(f"status: {job['status']} (attempts {job['attempts']}, worker {job['worker']})")
    if job["status"] != "completed":
        print(f"error: {json.dumps(job.get('error'))}")
        return 1, job_id
    status, results = client.get(f"/backtests/{job_id}/results?include_positions=false")
    print()
    print_summary(results)
    return (0 if status == 200 else 1), job_id


def print_links(url: str, job_id: str) -> None:
    print(f"\nserving {url} until Ctrl-C")
    print(f"  dashboard:     {url}/")
    print(f"  demo report:   {url}/backtests/{job_id}/report")
    print(f"  demo results:  {url}/backtests/{job_id}/results")
    print(f"  API docs:      {url}/docs    health: {url}/health    metrics: {url}/metrics")


def follow(settings: Settings, job_id: str, timeout: float) -> None:
    """Print the job's events as they arrive (pub/sub, with the stream as catch-up)."""
    started = time.monotonic()
    for event in job_events(make_redis(settings, socket_timeout=10), job_id, timeout):
        data = event["data"]
        detail = data.get("progress_message") or data.get("message") or data.get("status") or ""
        pct = data.get("progress_percentage")
        pct_text = f" {pct:5.1f}%" if pct is not None else ""
        print(f"  +{time.monotonic() - started:6.3f}s {event['type']}{pct_text} {detail}")
