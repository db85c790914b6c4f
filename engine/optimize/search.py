"""Candidate parameter sets: the full grid, or seeded random draws, filtered by constraints.

A set is the base spec's parameters with the searched ones replaced, so every candidate is
a complete, valid parameter set for the strategy. Infeasible sets (the strategy's own rules,
such as fast < slow, and the request's constraints) are dropped before anything runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.optimize.constraints import Constraint
from engine.optimize.constraints import feasible as constraints_hold
from engine.optimize.space import Dimension, space_size
from engine.strategies import Strategy

MAX_DRAW_ROUNDS = 50


@dataclass(frozen=True)
class SearchSpace:
    """A strategy, its base parameters, the searched dimensions and the constraints."""

    strategy: Strategy
    base: Mapping[str, Any]
    dims: tuple[Dimension, ...]
    constraints: tuple[Constraint, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def key(self, params: Mapping[str, Any]) -> tuple:
        """The searched values of a set: two sets with the same key are the same trial."""
        return tuple(params[name] for name in self.names)

    def complete(self, partial: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{**self.base, **p} for p in partial]

    def feasible(self, sets: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Which complete sets satisfy the strategy's rules and the request's constraints."""
        if not sets:
            return np.zeros(0, dtype=bool)
        encoded = self.strategy.encode(sets)
        return self.strategy.feasible(encoded) & constraints_hold(self.constraints, encoded)


def grid(space: SearchSpace) -> list[dict[str, Any]]:
    """Every feasible point of the grid, in the order of the ranges (last varies fastest)."""
    points = itertools.product(*(d.values for d in space.dims))
    sets = space.complete(dict(zip(space.names, values, strict=True)) for values in points)
    ok = space.feasible(sets)
    return [s for s, keep in zip(sets, ok, strict=True) if keep]


def random_sets(
    space: SearchSpace, n: int, seed: int, exclude: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Up to ``n`` distinct feasible sets drawn with ``seed``; the same seed gives the same sets.

    Fewer come back only when the space (after constraints) holds fewer distinct points.
    """
    rng = np.random.default_rng(seed)
    seen = {space.key(s) for s in exclude}
    out: list[dict[str, Any]] = []
    capacity = space_size(space.dims) - len(seen)
    for _ in range(MAX_DRAW_ROUNDS):
        need = n - len(out)
        if need <= 0 or capacity <= 0:
            break
        batch = max(64, 2 * need)
        columns = {d.name: d.sample(rng, batch) for d in space.dims}
        drawn = space.complete({k: v[i] for k, v in columns.items()} for i in range(batch))
        for params, ok in zip(drawn, space.feasible(drawn), strict=True):
            key = space.key(params)
            if key in seen:
                continue
            seen.add(key)
            capacity -= 1
            if ok and len(out) < n:
                out.append(params)
    return out
