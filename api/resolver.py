"""What reading a request may look up, answered from the database (``engine.requests``).

Stored data must be present and usable before a job on it is accepted, unless the body says
``"proceed_with_data_issues": true``; synthetic data needs no check. A request that names a
backtest by id gets that backtest's spec and status from its job row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.context import ServiceContext
from store import jobs
from store.bars.reads import snapshot
from store.data_validation import validate_stored
from workers.kinds import BACKTEST

PROCEED_FLAG = "proceed_with_data_issues"


def split_flag(payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The request's fields, and whether it asks to run on data with issues."""
    from engine.errors import SpecError

    body = dict(payload)
    proceed = body.pop(PROCEED_FLAG, False)
    if not isinstance(proceed, bool):
        raise SpecError.single(PROCEED_FLAG, "must be true or false")
    return body, proceed


class DatabaseResolver:
    """``engine.requests.Resolver`` over this service's job rows and bar store."""

    def __init__(
        self, ctx: ServiceContext, owner: str | None, proceed_with_data_issues: bool = False
    ) -> None:
        self._ctx = ctx
        self._owner = owner  # whose backtests a request may name (None: anyone's)
        self._proceed = proceed_with_data_issues
        self.max_parameter_sets = ctx.settings.optimization_max_sets

    def backtest(self, backtest_id: str) -> Any:
        from engine.errors import SpecError
        from engine.requests import StoredBacktest
        from engine.spec import parse_spec

        with self._ctx.reads() as session:
            job = jobs.get_job(session, backtest_id, self._owner)
            if job is None or job.kind != BACKTEST.name:
                return None
            payload, status, count = job.spec, job.status, job.symbols_count
        try:
            spec = parse_spec(payload)
        except SpecError:  # a stored spec that no longer validates (strategy removed, ...)
            spec = None
        return StoredBacktest(spec, status, count)

    def signal_set_symbols(self, signal_set_id: str) -> tuple[str, ...] | None:
        from store.signal_sets import get_signal_set

        with self._ctx.reads() as session:
            row = get_signal_set(session, signal_set_id, self._owner)
            return None if row is None else tuple(row.symbols)

    def check_data(self, window: Any) -> Any:
        from engine.data.validation import not_ready
        from engine.requests import DataCheck

        with snapshot(self._ctx.sessions) as session:
            checked = validate_stored(
                session, list(window.symbols), window.start, window.end, window.frequency
            )
        if checked.ready or self._proceed:
            return DataCheck()
        problem = not_ready(checked.report, checked.qualities)
        return DataCheck({**problem.errors, "data_sources": [str(problem)]}, checked.report)
