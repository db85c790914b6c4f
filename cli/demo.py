"""`nautilus-bt demo`: a backtest through the REST API of a locally started service."""

from __future__ import annotations

import json
import time
from typing import Any

from cli.processes import free_port, port_free
from cli.rest_client import RestClient
from cli.stack import Stack, StackError
from workers.redis_client import make_redis
from workers.settings import Settings
from workers.subscriber import job_events

DEMO_SPEC: dict[str, Any] = {
    "backtest_name": "Demo: momentum on five symbols, 2024",
    "backtest_type": "strategy_validation",
    "description": "nautilus-bt demo (synthetic data)",
    "start_date": "2024-01-01T00:00:00Z",
    "end_date": "2024-12-31T23:59:59Z",
    "frequency": "1d",
    "symbols": ["SPY", "QQQ", "IWM", "TSLA", "AAPL"],
    "data_sources": ["synthetic"],
    "strategy_id": "momentum_factor",
    "strategy_parameters": {"lookback_period": 20, "rebalance_frequency": "weekly"},
    "initial_capital": 1_000_000.0,
    "commission_rate": 0.001,
    "slippage_basis_points": 1.0,
    "benchmark_symbol": "SPY",
    "risk_free_rate": 0.02,
}
TERMINAL = ("completed", "failed", "cancelled")


def run_demo(settings: Settings, port: int | None, timeout: float) -> int:
    host = "127.0.0.1"
    port = port or (settings.port if port_free(host, settings.port) else free_port(host))
    with Stack(settings, host, port) as stack:
        try:
            stack.start()
        except StackError as exc:
            print(f"error: {exc}")
            return 1
        print(f"API at {stack.url} (docs at {stack.url}/docs)")
        return submit_and_follow(RestClient(stack.url), settings, timeout)


def submit_and_follow(client: RestClient, settings: Settings, timeout: float) -> int:
    status, created = client.post("/backtests", DEMO_SPEC)
    if status != 202:
        print(f"error: POST /backtests answered {status}: {created}")
        return 1
    job_id = created["execution_id"]
    print(f"submitted {job_id} to {created['queue']}")
    follow(settings, job_id, timeout)
    status, job = client.get(f"/backtests/{job_id}")
    print(f"status: {job['status']} (attempts {job['attempts']}, worker {job['worker']})")
    if job["status"] != "completed":
        print(f"error: {json.dumps(job.get('error'))}")
        return 1
    status, results = client.get(f"/backtests/{job_id}/results?include_positions=false")
    print_results(results)
    return 0 if status == 200 else 1


def follow(settings: Settings, job_id: str, timeout: float) -> None:
    """Print the job's events as they arrive (pub/sub, with the stream as catch-up)."""
    started = time.monotonic()
    for event in job_events(make_redis(settings, socket_timeout=10), job_id, timeout):
        data = event["data"]
        detail = data.get("progress_message") or data.get("message") or data.get("status") or ""
        pct = data.get("progress_percentage")
        pct_text = f" {pct:5.1f}%" if pct is not None else ""
        print(f"  +{time.monotonic() - started:6.3f}s {event['type']}{pct_text} {detail}")


def print_results(results: dict[str, Any]) -> None:
    summary = results["execution_summary"]
    print(f"\n{results['backtest_name']} ({summary['start_date']} .. {summary['end_date']})")
    print(
        f"  data: {summary.get('data_source')}, {summary['data_points_processed']} points, "
        f"computed on {summary['hardware_used']} in {summary['processing_time_ms']:.1f} ms"
    )
    for key, value in results["performance_metrics"].items():
        print(f"  {key:>22}: {_fmt(value)}")
    stats = results["trades_summary"]
    print(f"  {'total_trades':>22}: {stats['total_trades']}")
    bench = results.get("benchmark_comparison") or {}
    for key, value in (bench.get("relative_performance") or {}).items():
        print(f"  {key:>22}: {_fmt(value)}")


def _fmt(value: Any) -> str:
    return f"{value:,.4f}" if isinstance(value, float) else str(value)
