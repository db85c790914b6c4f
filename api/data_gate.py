"""The data check of ``POST /backtests``: stored data must be present and usable, or asked for.

A spec on stored data (``data_sources: ["database"]``) is validated before its job is created;
missing or unusable data answers 422 with the validation report unless the body carries
``"proceed_with_data_issues": true``. Synthetic data needs no check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.context import ServiceContext
from engine.data.sources import SYNTHETIC, resolve_source
from engine.data.validation import not_ready
from engine.errors import SpecError
from store.bar_reads import snapshot
from store.data_validation import validate_stored

PROCEED_FLAG = "proceed_with_data_issues"


def split_flag(payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The spec's fields, and whether the request asks to run on data with issues."""
    body = dict(payload)
    proceed = body.pop(PROCEED_FLAG, False)
    if not isinstance(proceed, bool):
        raise SpecError.single(PROCEED_FLAG, "must be true or false")
    return body, proceed


def check_data(ctx: ServiceContext, spec: Any, proceed: bool) -> dict[str, Any] | None:
    """The validation report of the spec's stored data; raises DataNotReady unless usable."""
    if resolve_source(spec.data_sources) == SYNTHETIC:
        return None
    symbols = list(dict.fromkeys([*spec.symbols, *filter(None, [spec.benchmark_symbol])]))
    with snapshot(ctx.sessions) as session:
        checked = validate_stored(session, symbols, spec.start_date, spec.end_date, spec.frequency)
    if not (checked.ready or proceed):
        raise not_ready(checked.report, checked.qualities)
    return checked.report
