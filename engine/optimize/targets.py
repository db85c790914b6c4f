"""Optimization targets: which metrics a search may optimize, and in which direction.

Internally every search maximizes an *oriented score*: the metric itself for metrics where
more is better, its negative for metrics where less is better, and minus its magnitude for
losses reported as negative fractions (max drawdown, VaR, CVaR), so "minimize max_drawdown"
means "prefer -5 % over -20 %". Undefined metrics (NaN or None) score ``-inf``: they rank last.
Directions and transforms come from ``engine.metric_table``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import SpecError, did_you_mean
from engine.metric_table import MAXIMIZE, METRICS

# metric -> (direction, transform), read from the one metric table
DIRECTIONS: dict[str, tuple[str, str]] = {
    m.name: (m.direction, m.transform) for m in METRICS if m.optimizable and m.direction
}
NEEDS_BENCHMARK = frozenset(m.name for m in METRICS if m.optimizable and m.needs_benchmark)


@dataclass(frozen=True)
class Target:
    """The metric a search optimizes and how its values become oriented scores."""

    metric: str
    direction: str
    transform: str

    @property
    def maximize(self) -> bool:
        return self.direction == MAXIMIZE

    def score(self, values) -> np.ndarray:
        """Oriented scores (higher is better) for metric values; undefined values are ``-inf``."""
        x = np.asarray([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)
        if self.transform == "magnitude":
            x = np.abs(x)
        oriented = x if self.maximize else -x
        return np.where(np.isfinite(oriented), oriented, -np.inf)

    def better(self, a: float | None, b: float | None) -> bool:
        """Whether metric value ``a`` is strictly better than ``b``."""
        sa, sb = self.score([a, b])
        return bool(sa > sb)

    def improvement_percentage(self, original: float | None, optimized: float | None):
        """How much better ``optimized`` is than ``original``, in percent of ``|original|``."""
        if original is None or optimized is None or original == 0:
            return None
        so, sn = self.score([original, optimized])
        if not (np.isfinite(so) and np.isfinite(sn)):
            return None
        base = abs(original)
        return float((sn - so) / base * 100.0)

    def describe(self) -> dict[str, str]:
        return {"metric": self.metric, "direction": self.direction, "transform": self.transform}


def get_target(name: object, has_benchmark: bool, field: str = "optimization_target") -> Target:
    """The target for a metric name; a typo names the closest metric and lists the valid ones."""
    if not isinstance(name, str) or name not in DIRECTIONS:
        hint = did_you_mean(name, DIRECTIONS)
        raise SpecError.single(
            field, f"unknown metric {name!r}.{hint} Valid targets: {sorted(DIRECTIONS)}"
        )
    if name in NEEDS_BENCHMARK and not has_benchmark:
        raise SpecError.single(
            field, f"{name!r} is measured against a benchmark: set the base spec's benchmark_symbol"
        )
    direction, transform = DIRECTIONS[name]
    return Target(name, direction, transform)
