"""Validation schemes and the bar windows they split a backtest into.

Windows are half-open ranges of bar indices ``[start, stop)`` over the base spec's bars. Every
fold trains strictly before it tests (``train.stop <= test.start``), and a window's evaluation
sees only its own bars (indicators start cold at ``start``), so no fold can use future data.

- ``none``: one fold, trained on every bar, no out-of-sample score.
- ``holdout``: train on the first ``1 - f`` of the bars, test on the last ``f``.
- ``walk_forward``: the last ``f`` of the bars is cut into ``windows`` consecutive test
  windows; each trains on the bars just before it, either all of them from bar 0
  (``anchored``) or a rolling window as long as the first fold's (``anchored: false``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import DataError, SpecError

SCHEMES = ("none", "holdout", "walk_forward")
DEFAULT_OOS_FRACTION = 0.3
DEFAULT_CSCV_BLOCKS = 10
MIN_WINDOW_BARS = 10
MAX_WINDOWS = 20


@dataclass(frozen=True)
class Window:
    """Bars ``[start, stop)`` of the base spec, with a name used as a key in stored trials."""

    name: str
    start: int
    stop: int

    @property
    def n_bars(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Fold:
    train: Window
    test: Window | None


@dataclass(frozen=True)
class Validation:
    """How a search is validated: the split and the number of CSCV blocks for PBO."""

    scheme: str = "holdout"
    out_of_sample_fraction: float = DEFAULT_OOS_FRACTION
    windows: int = 1
    anchored: bool = True
    cscv_blocks: int = DEFAULT_CSCV_BLOCKS

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scheme": self.scheme, "cscv_blocks": self.cscv_blocks}
        if self.scheme != "none":
            out["out_of_sample_fraction"] = self.out_of_sample_fraction
        if self.scheme == "walk_forward":
            out.update(windows=self.windows, anchored=self.anchored)
        return out


def parse_validation(value: Any, field: str = "validation") -> Validation:
    """Read ``{scheme, out_of_sample_fraction, windows, anchored, cscv_blocks}``."""
    if value is None:
        return Validation()
    if not isinstance(value, Mapping):
        raise SpecError.single(field, "must be an object such as {'scheme': 'holdout'}")
    known = {"scheme", "out_of_sample_fraction", "windows", "anchored", "cscv_blocks"}
    errors = {f"{field}.{k}": ["unknown key"] for k in value if k not in known}
    scheme = value.get("scheme", "holdout")
    if scheme not in SCHEMES:
        errors[f"{field}.scheme"] = [f"must be one of {list(SCHEMES)}, got {scheme!r}"]
    fraction = value.get("out_of_sample_fraction", DEFAULT_OOS_FRACTION)
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not (0.05 <= fraction <= 0.8)
    ):
        errors[f"{field}.out_of_sample_fraction"] = ["must be a fraction from 0.05 to 0.8"]
    windows = value.get("windows", 1 if scheme != "walk_forward" else 4)
    if isinstance(windows, bool) or not isinstance(windows, int) or not 1 <= windows <= MAX_WINDOWS:
        errors[f"{field}.windows"] = [f"must be a whole number from 1 to {MAX_WINDOWS}"]
    elif scheme == "holdout" and windows != 1:
        errors[f"{field}.windows"] = ["a holdout has one window: use scheme walk_forward"]
    anchored = value.get("anchored", True)
    if not isinstance(anchored, bool):
        errors[f"{field}.anchored"] = ["must be true or false"]
    blocks = value.get("cscv_blocks", DEFAULT_CSCV_BLOCKS)
    if isinstance(blocks, bool) or blocks not in range(4, 17, 2):
        errors[f"{field}.cscv_blocks"] = ["must be an even number from 4 to 16"]
    if errors:
        raise SpecError(errors)
    return Validation(scheme, float(fraction), windows, anchored, blocks)


def folds(validation: Validation, n_bars: int) -> tuple[Fold, ...]:
    """The folds of ``n_bars`` bars; a DataError when a window would be too short to score."""
    if validation.scheme == "none":
        out: tuple[Fold, ...] = (Fold(Window("full", 0, n_bars), None),)
    elif validation.scheme == "holdout":
        cut = n_bars - round(n_bars * validation.out_of_sample_fraction)
        out = (Fold(Window("in_sample", 0, cut), Window("out_of_sample", cut, n_bars)),)
    else:
        out = _walk_forward(validation, n_bars)
    shortest = min(w.n_bars for f in out for w in (f.train, f.test) if w is not None)
    if shortest < MIN_WINDOW_BARS:
        raise DataError(
            f"validation {validation.describe()} leaves a window of {shortest} bars out of "
            f"{n_bars}; each needs at least {MIN_WINDOW_BARS}: widen the dates, use fewer "
            "windows or a larger out_of_sample_fraction"
        )
    return out


def _walk_forward(validation: Validation, n_bars: int) -> tuple[Fold, ...]:
    first_test = n_bars - round(n_bars * validation.out_of_sample_fraction)
    k = validation.windows
    edges = [first_test + round(i * (n_bars - first_test) / k) for i in range(k + 1)]
    out = []
    for i in range(k):
        start = 0 if validation.anchored else edges[i] - first_test
        train = Window(f"fold_{i + 1}_train", start, edges[i])
        out.append(Fold(train, Window(f"fold_{i + 1}_test", edges[i], edges[i + 1])))
    return tuple(out)


def distinct_windows(fold_list: tuple[Fold, ...]) -> tuple[Window, ...]:
    """Every window the folds use, once, in order: what each trial is evaluated on."""
    seen: dict[str, Window] = {}
    for fold in fold_list:
        for window in (fold.train, fold.test):
            if window is not None:
                seen.setdefault(window.name, window)
    return tuple(seen.values())


def selection_window(fold_list: Sequence[Fold]) -> Window:
    """The window whose winner is reported as the optimized parameters: the latest training."""
    return fold_list[-1].train


def window_names(validation: Validation) -> tuple[str, ...]:
    """The names of the windows a validation scores, without knowing the number of bars."""
    if validation.scheme == "none":
        return ("full",)
    if validation.scheme == "holdout":
        return ("in_sample", "out_of_sample")
    return tuple(
        f"fold_{i}_{part}" for i in range(1, validation.windows + 1) for part in ("train", "test")
    )


def selection_name(validation: Validation) -> str:
    """The name of the selection window (see ``selection_window``)."""
    names = window_names(validation)
    return names[0] if validation.scheme != "walk_forward" else names[-2]
