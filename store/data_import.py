"""Importing bars end to end: checked rows in, one transaction, counts and reasons out.

``on_error="reject"`` (the default) writes nothing when any row is rejected and raises
:class:`ImportRejected` with the report; ``on_error="skip"`` loads the accepted rows and
reports the rejected ones. A file with wrong columns is always rejected whole.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.data.calendars import resolve_exchange
from engine.errors import DataError, SpecError
from store.bars.imports import ParsedBars
from store.bars.writes import upsert_bars
from store.db import transaction

ON_ERROR = ("reject", "skip")
SOURCE_MAX = 32


class ImportRejected(DataError):
    """Rows were rejected and the import asked for all or nothing: nothing was written."""

    def __init__(self, report: dict[str, Any], skip_hint: bool = True) -> None:
        rejections = report["rejections"]
        reasons = ", ".join(f"{n} {reason}" for reason, n in rejections["reasons"].items())
        hint = ", or import with on_error=skip to load the other rows" if skip_hint else ""
        super().__init__(
            f"{rejections['rejected']} of {report['rows']} rows rejected ({reasons}); nothing "
            f"was written. Fix the rows listed in rejections.examples{hint}"
        )
        self.report = report
        self.errors = {
            reason: [f"{e['row']}, {e['column']}: {e['value']!r}: {e['message']}"]
            for reason in rejections["reasons"]
            for e in rejections["examples"][:1]
            if e["reason"] == reason
        }

    @property
    def extra(self) -> dict[str, Any]:
        return {"import": self.report}


def import_parsed(
    sessions: sessionmaker[Session],
    parsed: ParsedBars,
    *,
    frequency: str,
    source: str = "csv",
    exchange: str | None = None,
    on_error: str = "reject",
) -> dict[str, Any]:
    """Upsert ``parsed``'s accepted rows unless the policy says no; returns the report."""
    _check_options(source, on_error)
    exchange = resolve_exchange(exchange) if exchange else None
    report = _report(parsed, frequency, source)
    if parsed.rejected and on_error == "reject":
        raise ImportRejected(report)
    if parsed.frame.empty:
        raise DataError("no row was accepted, so nothing was imported; see the reasons")
    with transaction(sessions) as session:
        counts = upsert_bars(session, parsed.frame, frequency, source, exchange)
    report.update(counts.totals(), written=True, status="imported")
    report["per_symbol"] = {
        symbol: {
            "inserted": counts.inserted.get(symbol, 0),
            "updated": counts.updated.get(symbol, 0),
            "unchanged": counts.unchanged.get(symbol, 0),
            "version": counts.versions.get(symbol),
        }
        for symbol in report["symbols"]
    }
    return report


def _report(parsed: ParsedBars, frequency: str, source: str) -> dict[str, Any]:
    return {
        "status": "rejected",
        "written": False,
        "symbols": sorted(parsed.frame["symbol"].unique().tolist()),
        "frequency": frequency,
        "source": source,
        "rows": parsed.rows,
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": parsed.rejected,
        "rejections": parsed.report(),
    }


def _check_options(source: str, on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise SpecError.single("on_error", f"use one of {', '.join(ON_ERROR)}, not {on_error!r}")
    if not source or len(source) > SOURCE_MAX:
        raise SpecError.single("source", f"name the source in 1 to {SOURCE_MAX} characters")
