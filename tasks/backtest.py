"""``run_backtest(job_id)``: run the engine on the job's spec and market, store the result.

The claim, lease, retries and endings are the shared job routine (``tasks.job_task``); this
module holds only what is a backtest's own: which market it reads, and what it stores.
"""

from __future__ import annotations

from typing import Any

from store.result_sections import SECTIONS, section_patches
from tasks.devices import note_devices
from tasks.job_task import JobRun, job_task
from tasks.market import load_market, load_signals
from tasks.outcomes import Completion, complete
from workers.kinds import BACKTEST


@job_task(BACKTEST)
def run_backtest(run: JobRun) -> str:
    """Run the backtest job; returns what happened to it (for logs and Flower)."""
    from engine.backtest import run_backtest as engine_run_backtest
    from engine.spec import parse_spec

    spec = parse_spec(run.spec)
    run.progress(0.0, "loading market data")
    market = load_market(spec)
    signals = load_signals(spec.signal_set_id) if spec.signal_set_id else None
    result = engine_run_backtest(spec, market, progress=run.progress, signals=signals)
    done = completion(result)
    note_devices(run.ctx, run.lease.worker)
    return complete(run.ctx, BACKTEST, run.lease, done)


def completion(result: Any) -> Completion:
    """The stored document (with its optional sections) and the job row's final figures, with
    the statistics that job queries return and rank by."""
    from engine.report import without_sections

    summary = result.summary()
    document = result.document()
    pairs = {section: (document, without_sections(document, [section])) for section in SECTIONS}
    return Completion(
        document=document,
        sections=section_patches(document, pairs),
        digest=result.input_digest,
        dataset_version=result.market.version or None,
        row={**result.row_fields(), "metrics": document["statistics"]},
        event=summary,
    )
