"""``run_stress_test(job_id)``: load the job's book and history, run the engine, store.

The claim, lease, retries and endings are the shared job routine (``tasks.job_task``). A
backtest's book comes from its stored result document, its history from the backtest's own
bars; an inline portfolio's history from the request's window. Events are
``STRESS_TEST_RESULT`` with ``data.stage``: ``started``, ``progress`` (pub/sub only), then
``completed``, ``failed`` or ``cancelled``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from engine.canonical import input_digest
from store import jobs
from store.db import transaction
from store.results import get_result
from tasks.context import TaskContext
from tasks.devices import note_devices
from tasks.job_task import JobRun, job_task
from tasks.market import load_market
from tasks.outcomes import Completion, complete
from workers.kinds import STRESS_TEST

log = logging.getLogger(__name__)


@job_task(STRESS_TEST)
def run_stress_test(run: JobRun) -> str:
    """Run the stress-test job; returns what happened to it (for logs and Flower)."""
    document, digest, version = compute(run.ctx, run.spec, run.progress)
    done = Completion(
        document=document,
        digest=digest,
        dataset_version=version,
        row={
            "processing_time_ms": document["processing_time_ms"],
            "hardware_used": document["hardware_used"],
        },
        event=completion_summary(document),
    )
    note_devices(run.ctx, run.lease.worker)
    return complete(run.ctx, STRESS_TEST, run.lease, done)


def compute(ctx: TaskContext, payload: dict[str, Any], reporter: Any) -> tuple[dict, str, str]:
    """The stress-test document, its input digest and the dataset version it read."""
    from engine.stress import parse_stress_request
    from engine.stress.inputs import backtest_inputs, backtest_window, inline_inputs, inline_window
    from engine.stress.montecarlo import run_stress_test as engine_run_stress_test
    from engine.stress.strategy_paths import rerun_strategy

    request = parse_stress_request(payload)
    reporter(0.0, "loading the book and its history")
    rerun = None
    if request.inline:
        market = load_history(inline_window(request))
        book, history = inline_inputs(request, market)
        base = ""
    else:
        assert request.backtest_id, "a stress test reads an inline portfolio or a backtest"
        spec, document, base = load_backtest(ctx, request.backtest_id)
        market = load_history(backtest_window(spec, request.market_proxy))
        book, history = backtest_inputs(document, market, request.market_proxy)
        rerun = functools.partial(rerun_strategy, spec, market, request)
    result = engine_run_stress_test(request, book, history, progress=reporter, strategy_rerun=rerun)
    digest = input_digest(request.content_hash(), base, market.source, market.version)
    return result, digest, market.version


def load_history(window: Any) -> Any:
    """The window's bars; without the market proxy when the data has none (betas are then 1)."""
    from engine.errors import DataError

    try:
        return load_market(window)
    except DataError:
        if window.benchmark_symbol is None:
            raise
        log.warning("no bars for market proxy %s; betas default to 1", window.benchmark_symbol)
        return load_market(window.without_benchmark())


def load_backtest(ctx: TaskContext, backtest_id: str) -> tuple[Any, dict[str, Any], str]:
    """The base backtest's spec, stored result document and result digest."""
    from engine.errors import DataError
    from engine.spec import parse_spec

    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, backtest_id)
        result = get_result(session, backtest_id)
        if job is None or job.kind != "backtest" or result is None:
            raise DataError(f"backtest {backtest_id} has no stored result")
        spec, document, digest = job.spec, result.document, result.digest
    return parse_spec(spec), document, digest


def completion_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers a subscriber gets with the completion event."""
    mc = document.get("monte_carlo") or {}
    return {
        "scenarios": [
            {"name": s["name"], "pnl": s["pnl"], "return_pct": s["return_pct"]}
            for s in document["scenarios"]
        ],  # fmt: skip
        "expected_loss": document["expected_loss"],
        "worst_scenario": document["worst_scenario"],
        **{k: mc.get(k) for k in ("var_95", "cvar_95", "var_99", "cvar_99")},
        "processing_time_ms": document["processing_time_ms"],
    }
