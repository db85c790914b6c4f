"""The strategy registry: ids, versions, parameter schemas and batched signal functions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from accel import Array
from engine.errors import SpecError, did_you_mean
from engine.strategies.params import Param, resolve_params
from engine.strategies.plan import Plan

REBALANCE_CHOICES = ("daily", "weekly", "monthly")


class Bars(NamedTuple):
    """What a signal function sees: prices forward-filled over missing bars, ``(T, S)``.

    ``period_starts`` is ``(3, T)``: whether bar ``t`` opens a new day, week or month, in the
    order of ``REBALANCE_CHOICES``; strategies that rebalance on a schedule use it. ``volume``
    is None where no volumes exist (simulated stress paths): volume indicators are then NaN.
    Arrays are JAX's on the device (``engine.simulation.bars_for``), numpy for the CPU loop.
    """

    open: Array
    high: Array
    low: Array
    close: Array
    valid: Array
    period_starts: Array
    volume: Array | None = None

    def series_fields(self) -> tuple[str, ...]:
        """The fields that are ``(T, S)`` series (what a selection of symbols slices)."""
        return ("open", "high", "low", "close", "valid", "volume")[: 5 + (self.volume is not None)]


ConstraintFn = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Strategy:
    """A strategy maps bars up to ``t`` to target weights ``(P, T, S)`` for P parameter sets.

    ``plan`` is its one definition (``engine.strategies.plan``); every backend runs it.
    ``constraints`` are (predicate, field, message) triples over the parameters; predicates
    work on scalars and on arrays alike so sweeps can filter infeasible sets in one step.
    """

    id: str
    version: str
    description: str
    params: tuple[Param, ...]
    plan: Plan
    constraints: tuple[tuple[ConstraintFn, str, str], ...] = ()
    aliases: tuple[str, ...] = ()
    package: tuple[str, str] | None = None  # (distribution, version) of a strategy package

    def signal(self, bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
        """``(P, T, S)`` target weights on whole arrays (the JAX path)."""
        from engine.strategies.jax_signals import plan_signal

        return plan_signal(self.plan, bars, params)

    def resolve(self, values: Mapping[str, Any], prefix: str = "strategy_parameters") -> dict:
        """Validated parameters with defaults filled in."""
        resolved = resolve_params(self.params, values, prefix)
        errors = {
            f"{prefix}.{field}": [message]
            for predicate, field, message in self.constraints
            if not predicate(resolved)
        }
        if errors:
            raise SpecError(errors)
        return resolved

    def encode(self, param_sets: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Resolved parameter sets as one float64 array ``(P,)`` per parameter.

        ``_sets`` carries the batch size for strategies without parameters.
        """
        encoded = {
            p.name: np.array([p.encode(s[p.name]) for s in param_sets], dtype=np.float64)
            for p in self.params
        }
        return {**encoded, "_sets": np.zeros(len(param_sets))}

    def feasible(self, encoded: Mapping[str, np.ndarray]) -> np.ndarray:
        """Which encoded sets satisfy every constraint."""
        n = len(next(iter(encoded.values()))) if encoded else 1
        ok = np.ones(n, dtype=bool)
        for predicate, _, _ in self.constraints:
            ok &= np.asarray(predicate(encoded), dtype=bool)
        return ok

    def provenance(self) -> dict[str, Any]:
        """What results record about the strategy that produced them."""
        name, version = self.package or (None, None)
        return {
            "strategy_id": self.id,
            "version": self.version,
            "package": name,
            "package_version": version,
        }

    def describe(self) -> dict[str, Any]:
        return {
            **self.provenance(),
            "description": self.description,
            "aliases": list(self.aliases),
            "parameters": {p.name: p.describe() for p in self.params},
            "constraints": [f"{field} {message}" for _, field, message in self.constraints],
        }


_REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    for name in (strategy.id, *strategy.aliases):
        _REGISTRY[name] = strategy
    return strategy


def registered(name: str) -> bool:
    return name in _REGISTRY


@functools.cache
def packages() -> tuple[Any, ...]:
    """The installed strategy packages, loaded and registered on first use (see
    ``engine.strategies.packages``)."""
    from engine.strategies.packages import load_packages

    return tuple(load_packages())


def strategy_ids() -> list[str]:
    """Canonical ids of every registered strategy (built-ins and installed packages)."""
    packages()
    return sorted({s.id for s in _REGISTRY.values()})


def get_strategy(strategy_id: str, field: str = "strategy_id") -> Strategy:
    """The strategy for an id or alias; an unknown id names the valid ones."""
    packages()
    try:
        return _REGISTRY[strategy_id]
    except (KeyError, TypeError):
        hint = did_you_mean(strategy_id, _REGISTRY)
        raise SpecError.single(
            field, f"unknown strategy {strategy_id!r}.{hint} Valid strategies: {strategy_ids()}"
        ) from None
