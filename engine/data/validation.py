"""The data-validation report of ``GET /data/validate``, built from per-symbol quality.

Shape (the seed's, with additions): ``validation_summary`` (symbols requested and available,
overall coverage, ``data_quality_good``, ``ready_for_backtest``, the window and frequency),
``symbol_details`` per symbol (coverage percentage, missing periods as ranges, quality score,
earliest and latest dates, and each check's finding), and ``recommendations`` that say what to
do. Overall coverage is the share of all requested symbols' expected bars that are present, so a
symbol with no data counts as 0 % rather than being left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from engine.data.quality import SymbolQuality, iso
from engine.errors import DataError


class DataNotReady(DataError):
    """The data of a run is missing or unusable; ``report`` is the validation report."""

    def __init__(self, message: str, report: dict[str, Any], errors: dict[str, list[str]]):
        super().__init__(message)
        self.report = report
        self.errors = errors

    @property
    def extra(self) -> dict[str, Any]:
        """Keys the API adds to its error body."""
        return {"validation_report": self.report}


def validation_report(
    qualities: Sequence[SymbolQuality],
    start: pd.Timestamp,
    end: pd.Timestamp,
    frequency: str,
    versions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report for ``qualities`` (one per requested symbol, in request order)."""
    expected = sum(q.expected for q in qualities)
    present = sum(q.present for q in qualities)
    ready = bool(qualities) and all(q.usable for q in qualities)
    summary = {
        "symbols_requested": len(qualities),
        "symbols_available": sum(q.available for q in qualities),
        "overall_coverage_percentage": _percent(present / expected if expected else 0.0),
        "data_quality_good": bool(qualities) and all(q.good for q in qualities),
        "ready_for_backtest": ready,
        "start_date": iso(start),
        "end_date": iso(end),
        "frequency": frequency,
    }
    details = {q.symbol: symbol_detail(q, (versions or {}).get(q.symbol)) for q in qualities}
    return {
        "validation_summary": summary,
        "symbol_details": details,
        "recommendations": recommendations(qualities),
    }


def symbol_detail(quality: SymbolQuality, version: str | None = None) -> dict[str, Any]:
    q = quality
    return {
        "available": q.available,
        "data_coverage_percentage": _percent(q.coverage),
        "missing_periods": [p.to_dict() for p in q.missing_periods],
        "data_quality_score": q.score,
        "earliest_date": iso(q.earliest) if q.earliest is not None else None,
        "latest_date": iso(q.latest) if q.latest is not None else None,
        "bar_count": q.bar_count,
        "expected_bars": q.expected,
        "exchange": q.exchange,
        "usable": q.usable,
        "dataset_version": version,
        "checks": [f.to_dict() for f in q.findings],
    }


def recommendations(qualities: Sequence[SymbolQuality]) -> list[str]:
    """One actionable line per problem, most serious first."""
    lines: list[str] = []
    for q in qualities:
        if not q.available:
            lines.append(
                f"{q.symbol}: no {q.frequency} bars in this window; import them with "
                f"`nautilus-bt data import FILE --symbol {q.symbol} --frequency {q.frequency}` "
                "or POST /data/bars"
            )
            continue
        lines += [_fix_line(q, f.check, f.count, f.examples) for f in q.errors]
        if q.coverage < q.rules.min_coverage:
            first = q.missing_periods[0]
            lines.append(
                f"{q.symbol}: only {_percent(q.coverage)}% of the expected bars are present "
                f"(first gap {iso(first.start)[:10]} to {iso(first.end)[:10]}); import the "
                "missing periods or narrow the date range"
            )
    lines += [_warning_line(q) for q in qualities if q.available and _warnings(q)]
    return lines


def not_ready(report: dict[str, Any], qualities: Sequence[SymbolQuality]) -> DataNotReady:
    """The error a submission gets when its data is not ready (422 with the report)."""
    errors = {"symbols": [line for line in recommendations(qualities) if ":" in line]}
    bad = [q.symbol for q in qualities if not q.usable]
    message = (
        f"the data for {', '.join(bad)} is missing or unusable for this backtest; see "
        "validation_report, fix or import the data, or resubmit with "
        '"proceed_with_data_issues": true'
    )
    return DataNotReady(message, report, errors)


def _fix_line(q: SymbolQuality, check: str, count: int, examples: tuple) -> str:
    first = examples[0]["timestamp"][:19] if examples else "?"
    return f"{q.symbol}: {count} bar(s) fail {check} (first at {first}); fix them and re-import"


def _warnings(q: SymbolQuality) -> list[str]:
    skip = {"missing_sessions"} | {f.check for f in q.errors}
    return [f"{f.check} ({f.count})" for f in q.findings if f.count and f.check not in skip]


def _warning_line(q: SymbolQuality) -> str:
    return f"{q.symbol}: review {', '.join(_warnings(q))}; see symbol_details.checks for examples"


def _percent(fraction: float) -> float:
    return round(100.0 * fraction, 2)
