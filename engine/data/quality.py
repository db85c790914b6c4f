"""Data-quality checks on one symbol's bars, and the quality score built from them.

Every check has a name, a severity and a weight, and reports how many bars it flags with the
first few examples (timestamp and what is wrong), so a user can find and fix the rows.

==================== ======== ====== ============================================================
check                severity weight flags
==================== ======== ====== ============================================================
missing_sessions     warning  1.0    sessions of the exchange calendar with no bar (holidays and
                                     weekends are not sessions, so never gaps)
off_calendar_bars    warning  0.5    bars on a day or at a time the exchange was closed
duplicate_timestamps error    2.0    bars whose timestamp repeats an earlier bar's
invalid_prices       error    5.0    NaN, infinite or non-positive open/high/low/close, or a
                                     NaN or negative volume
inconsistent_ohlc    error    2.0    high below low, or open or close outside [low, high]
zero_volume_runs     warning  0.25   bars in runs of ``zero_volume_run`` or more zero volumes
stale_prices         warning  1.0    bars in runs of ``stale_run`` or more equal closes
return_outliers      warning  2.0    close-to-close log returns farther than ``outlier_mad``
                                     robust deviations (1.4826 x MAD) from the median and larger
                                     than ``outlier_floor`` (scaled by sqrt(bar minutes / 390))
==================== ======== ====== ============================================================

Score. ``1 - sum(weight * flagged / max(expected bars, bars))`` clipped to [0, 1]: a series
missing 2 % of its sessions scores 0.98; one bar in a hundred with a non-positive price costs
0.05. A symbol is *usable* for a backtest when it has bars, no error-severity finding and a
coverage of at least ``min_coverage``; its quality is *good* when it is usable and scores at
least ``good_score``. Runs and returns are taken over the bars present, in time order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.calendars import BAR_MINUTES, DEFAULT_EXCHANGE, expected_bars, session_labels

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of the checks and of the usable/good verdicts."""

    stale_run: int = 5
    zero_volume_run: int = 3
    outlier_mad: float = 10.0
    outlier_floor: float = 0.10
    min_coverage: float = 0.90
    good_score: float = 0.95
    max_examples: int = 5


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's bars as arrays; ``timestamps`` are naive UTC, sorted, repeats allowed."""

    symbol: str
    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    exchange: str = DEFAULT_EXCHANGE

    @classmethod
    def from_frame(
        cls, symbol: str, frame: pd.DataFrame, exchange: str = DEFAULT_EXCHANGE
    ) -> SymbolBars:
        """From a frame with a DatetimeIndex and lower-case OHLCV columns."""
        index = pd.DatetimeIndex(frame.index)
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        order = np.argsort(index.to_numpy(dtype="datetime64[ns]"), kind="stable")
        cols = {k: frame[k].to_numpy(dtype=float)[order] for k in ("open", "high", "low")}
        return cls(
            symbol,
            index.to_numpy(dtype="datetime64[ns]")[order],
            close=frame["close"].to_numpy(dtype=float)[order],
            volume=frame["volume"].to_numpy(dtype=float)[order],
            exchange=exchange,
            **cols,
        )


@dataclass(frozen=True)
class Finding:
    """What one check found: how many bars, the first examples, and what the check means."""

    check: str
    severity: str
    count: int
    examples: tuple[dict[str, str], ...]
    description: str

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity,
            "count": self.count,
            "examples": list(self.examples),
            "description": self.description,
        }


@dataclass(frozen=True)
class MissingPeriod:
    """A run of consecutive expected bars (in calendar order) that have no data."""

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int

    def to_dict(self) -> dict[str, object]:
        return {"start": iso(self.start), "end": iso(self.end), "missing_bars": self.bars}


@dataclass(frozen=True)
class SymbolQuality:
    """The checks' findings for one symbol over one window, and the verdicts built on them."""

    symbol: str
    exchange: str
    frequency: str
    bar_count: int
    expected: int
    present: int
    missing_periods: tuple[MissingPeriod, ...]
    findings: tuple[Finding, ...]
    score: float
    earliest: pd.Timestamp | None
    latest: pd.Timestamp | None
    rules: QualityRules = field(default_factory=QualityRules)

    @property
    def available(self) -> bool:
        return self.bar_count > 0

    @property
    def coverage(self) -> float:
        return self.present / self.expected if self.expected else 0.0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR and f.count)

    @property
    def usable(self) -> bool:
        return self.available and not self.errors and self.coverage >= self.rules.min_coverage

    @property
    def good(self) -> bool:
        return self.usable and self.score >= self.rules.good_score

    def finding(self, check: str) -> Finding:
        return next(f for f in self.findings if f.check == check)


@dataclass(frozen=True)
class _Window:
    """The bars inside the requested window, with what the checks share."""

    bars: SymbolBars
    stamps: np.ndarray  # bar stamps (session labels for daily bars)
    expected: pd.DatetimeIndex
    frequency: str
    rules: QualityRules

    def example(self, i: int, detail: str) -> dict[str, str]:
        return {"timestamp": iso(self.stamps[i]), "detail": detail}


Check = Callable[[_Window], Finding]


def assess(
    bars: SymbolBars,
    start: pd.Timestamp,
    end: pd.Timestamp,
    frequency: str = "1d",
    rules: QualityRules | None = None,
) -> SymbolQuality:
    """Run every check on ``bars`` between ``start`` and ``end`` (inclusive)."""
    rules = rules or QualityRules()
    window = _window(bars, _naive(start), _naive(end), frequency, rules)
    present = contains(window.stamps, window.expected.to_numpy())
    findings = tuple(check(window) for check in CHECKS.values())
    findings = (_missing(window, present), *findings)
    denominator = max(len(window.expected), len(window.stamps), 1)
    penalty = sum(WEIGHTS[f.check] * f.count for f in findings) / denominator
    stamps = window.stamps
    return SymbolQuality(
        symbol=bars.symbol,
        exchange=bars.exchange,
        frequency=frequency,
        bar_count=len(stamps),
        expected=len(window.expected),
        present=int(present.sum()),
        missing_periods=missing_periods(window.expected, present),
        findings=findings,
        score=round(float(np.clip(1.0 - penalty, 0.0, 1.0)), 4) if len(stamps) else 0.0,
        earliest=pd.Timestamp(stamps[0]) if len(stamps) else None,
        latest=pd.Timestamp(stamps[-1]) if len(stamps) else None,
        rules=rules,
    )


def _window(
    bars: SymbolBars, start: pd.Timestamp, end: pd.Timestamp, frequency: str, rules: QualityRules
) -> _Window:
    stamps = np.asarray(bars.timestamps, dtype="datetime64[ns]")
    if frequency == "1d":
        stamps = session_labels(stamps, bars.exchange)
    keep = (stamps >= start.to_datetime64()) & (stamps <= end.to_datetime64())
    arrays = {k: np.asarray(getattr(bars, k), dtype=float)[keep] for k in _FIELDS}
    inside = SymbolBars(bars.symbol, stamps[keep], exchange=bars.exchange, **arrays)
    expected = expected_bars(bars.exchange, start, end, frequency)
    return _Window(inside, stamps[keep], expected, frequency, rules)


def missing_periods(expected: pd.DatetimeIndex, present: np.ndarray) -> tuple[MissingPeriod, ...]:
    """Runs of consecutive missing expected bars as (first, last, count) ranges."""
    return tuple(
        MissingPeriod(expected[i], expected[i + n - 1], n) for i, n in runs(~np.asarray(present))
    )


def contains(sorted_values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``np.isin(items, sorted_values)`` for a sorted ``sorted_values``, without re-sorting."""
    at = np.searchsorted(sorted_values, items)
    found = at < len(sorted_values)
    found[found] = sorted_values[at[found]] == items[found]
    return found


def runs(mask: np.ndarray, min_length: int = 1) -> list[tuple[int, int]]:
    """(start index, length) of each run of True in ``mask`` at least ``min_length`` long."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True) if e - s >= min_length]


# --- the checks -------------------------------------------------------------------------------


def _missing(w: _Window, present: np.ndarray) -> Finding:
    absent = np.flatnonzero(~present)
    examples = [
        {"timestamp": iso(w.expected[i]), "detail": "no bar on this session"}
        for i in absent[: w.rules.max_examples]
    ]
    return _finding("missing_sessions", len(absent), examples)


def _off_calendar(w: _Window) -> Finding:
    flagged = np.flatnonzero(~contains(w.expected.to_numpy(), w.stamps))
    what = "the exchange had no session that day" if w.frequency == "1d" else "not a bar open time"
    return _finding("off_calendar_bars", len(flagged), _examples(w, flagged, lambda i: what))


def _duplicates(w: _Window) -> Finding:
    flagged = np.flatnonzero(pd.Index(w.stamps).duplicated())
    return _finding(
        "duplicate_timestamps",
        len(flagged),
        _examples(w, flagged, lambda i: "repeats the timestamp of the bar before it"),
    )


def _invalid(w: _Window) -> Finding:
    b = w.bars
    prices = np.column_stack([b.open, b.high, b.low, b.close])
    bad_price = ~(np.isfinite(prices) & (prices > 0))
    bad_volume = ~(np.isfinite(b.volume) & (b.volume >= 0))
    flagged = np.flatnonzero(bad_price.any(axis=1) | bad_volume)

    def detail(i: int) -> str:
        names = [n for n, bad in zip(_FIELDS[:4], bad_price[i], strict=True) if bad]
        names += ["volume"] if bad_volume[i] else []
        return ", ".join(f"{n}={getattr(b, n)[i]:g}" for n in names)

    return _finding("invalid_prices", len(flagged), _examples(w, flagged, detail))


def _inconsistent(w: _Window) -> Finding:
    b = w.bars
    tol = 1e-9 * np.abs(b.high)
    with np.errstate(invalid="ignore"):
        outside = [(b.high < b.low - tol)]
        outside += [(x > b.high + tol) | (x < b.low - tol) for x in (b.open, b.close)]
    flagged = np.flatnonzero(np.logical_or.reduce(outside))

    def detail(i: int) -> str:
        return (
            f"open={b.open[i]:g} high={b.high[i]:g} low={b.low[i]:g} close={b.close[i]:g}; "
            "need low <= open, close <= high"
        )

    return _finding("inconsistent_ohlc", len(flagged), _examples(w, flagged, detail))


def _zero_volume(w: _Window) -> Finding:
    found = runs(w.bars.volume == 0, w.rules.zero_volume_run)
    count = sum(n for _, n in found)
    examples = [w.example(i, f"{n} bars in a row with zero volume") for i, n in found]
    return _finding("zero_volume_runs", count, examples[: w.rules.max_examples])


def _stale(w: _Window) -> Finding:
    close = w.bars.close
    same = np.isfinite(close[1:]) & (close[1:] == close[:-1])
    found = [(i, n + 1) for i, n in runs(same, w.rules.stale_run - 1)]
    examples = [w.example(i, f"close {close[i]:g} for {n} bars in a row") for i, n in found]
    return _finding("stale_prices", sum(n for _, n in found), examples[: w.rules.max_examples])


def _outliers(w: _Window) -> Finding:
    close = w.bars.close
    ok = np.flatnonzero(np.isfinite(close) & (close > 0))
    if len(ok) < 3:
        return _finding("return_outliers", 0, [])
    returns = np.diff(np.log(close[ok]))
    median = float(np.median(returns))
    scale = 1.4826 * float(np.median(np.abs(returns - median)))
    floor = w.rules.outlier_floor * np.sqrt(min(BAR_MINUTES[w.frequency], 390) / 390)
    big = (np.abs(returns - median) > w.rules.outlier_mad * scale) & (np.abs(returns) > floor)
    flagged = ok[1:][big]
    prev = dict(zip(ok[1:].tolist(), ok[:-1].tolist(), strict=True))

    def detail(i: int) -> str:
        change = close[i] / close[prev[i]] - 1.0
        return f"close {close[prev[i]]:g} -> {close[i]:g} ({change:+.1%}) in one bar"

    return _finding("return_outliers", len(flagged), _examples(w, flagged, detail))


CHECKS: dict[str, Check] = {
    "off_calendar_bars": _off_calendar,
    "duplicate_timestamps": _duplicates,
    "invalid_prices": _invalid,
    "inconsistent_ohlc": _inconsistent,
    "zero_volume_runs": _zero_volume,
    "stale_prices": _stale,
    "return_outliers": _outliers,
}
SEVERITY = {
    "missing_sessions": WARNING,
    "off_calendar_bars": WARNING,
    "duplicate_timestamps": ERROR,
    "invalid_prices": ERROR,
    "inconsistent_ohlc": ERROR,
    "zero_volume_runs": WARNING,
    "stale_prices": WARNING,
    "return_outliers": WARNING,
}
WEIGHTS = {
    "missing_sessions": 1.0,
    "off_calendar_bars": 0.5,
    "duplicate_timestamps": 2.0,
    "invalid_prices": 5.0,
    "inconsistent_ohlc": 2.0,
    "zero_volume_runs": 0.25,
    "stale_prices": 1.0,
    "return_outliers": 2.0,
}
DESCRIPTIONS = {
    "missing_sessions": "exchange sessions with no bar (holidays are not sessions)",
    "off_calendar_bars": "bars when the exchange was closed",
    "duplicate_timestamps": "bars repeating an earlier bar's timestamp",
    "invalid_prices": "NaN or non-positive prices, NaN or negative volume",
    "inconsistent_ohlc": "high below low, or open/close outside [low, high]",
    "zero_volume_runs": "runs of consecutive zero-volume bars",
    "stale_prices": "runs of consecutive unchanged closes",
    "return_outliers": "one-bar returns far outside the symbol's usual range",
}
_FIELDS = ("open", "high", "low", "close", "volume")


def _finding(check: str, count: int, examples: list[dict[str, str]]) -> Finding:
    return Finding(check, SEVERITY[check], int(count), tuple(examples), DESCRIPTIONS[check])


def _examples(w: _Window, flagged: np.ndarray, detail: Callable[[int], str]) -> list:
    return [w.example(int(i), detail(int(i))) for i in flagged[: w.rules.max_examples]]


def iso(ts: object) -> str:
    """``2024-01-31T00:00:00Z``: the API's UTC time format."""
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive(ts: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
