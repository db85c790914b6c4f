"""Bayesian search with Optuna's TPE sampler, in rounds: each round asks a batch, one sweep
scores it.

``propose`` is stateless: it rebuilds a study from the trials scored so far and asks the next
batch, with a sampler seeded from ``(seed, round)``. The same seed and history give the same
batch, and a round can run in any process (a chord callback) with nothing kept in memory.
TPE's constant liar keeps the sets of one batch apart while none of them has a score yet.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.optimize.search import SearchSpace, random_sets
from engine.optimize.space import Dimension

ASKS_PER_SET = 10


def _evenly_spaced(values: tuple[Any, ...]) -> bool:
    if len(values) < 3 or not all(isinstance(v, int | float) for v in values):
        return False
    if any(isinstance(v, bool) for v in values):
        return False
    steps = np.diff(np.asarray(values, dtype=float))
    return bool(steps[0] > 0 and np.allclose(steps, steps[0], rtol=1e-9, atol=0))


def distribution(dim: Dimension):
    """The Optuna distribution of a dimension (ordered grids stay ordered, for TPE)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if dim.finite and _evenly_spaced(dim.values):
        low, high = dim.values[0], dim.values[-1]
        step = dim.values[1] - dim.values[0]
        if dim.param.kind == "int":
            return IntDistribution(int(low), int(high), step=int(step))
        return FloatDistribution(float(low), float(high), step=float(step))
    if dim.finite:
        return CategoricalDistribution(list(dim.values))
    if dim.distribution == "int_uniform":
        return IntDistribution(int(dim.low), int(dim.high), step=int(dim.step or 1))
    log = dim.distribution == "log_uniform"
    return FloatDistribution(dim.low, dim.high, log=log, step=None if log else dim.step)


def _value(dim: Dimension, suggested: Any) -> Any:
    """A suggestion as a value of the dimension (grid values are matched, floats clipped)."""
    if dim.finite:
        if suggested in dim.values:
            return suggested
        return min(dim.values, key=lambda v: abs(float(v) - float(suggested)))
    if dim.distribution == "int_uniform":
        return int(suggested)
    return float(min(max(float(suggested), dim.low), dim.high))


def _study(space: SearchSpace, history: Sequence[tuple[Mapping[str, Any], float | None]], seed):
    import optuna
    from optuna.samplers import TPESampler
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {d.name: distribution(d) for d in space.dims}
    study = optuna.create_study(direction="maximize", sampler=TPESampler(seed=seed))
    for params, score in history:
        ok = score is not None and math.isfinite(score)
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE if ok else TrialState.FAIL,
                value=score if ok else None,
                params={name: params[name] for name in dists},
                distributions=dists,
            )
        )
    return study, dists


def propose(
    space: SearchSpace,
    history: Sequence[tuple[Mapping[str, Any], float | None]],
    n: int,
    seed: int,
    round_no: int,
) -> list[dict[str, Any]]:
    """The next ``n`` distinct feasible sets to score, given ``(params, oriented score)`` so far.

    Scores are oriented (higher is better); None or non-finite marks a failed trial. When TPE
    keeps proposing known sets (a small space nearly exhausted), seeded random draws fill up.
    """
    from optuna.trial import TrialState

    round_seed = int(np.random.SeedSequence([seed, round_no]).generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning for batch options
        study, dists = _study(space, history, round_seed)
        seen = {space.key(p) for p, _ in history}
        out: list[dict[str, Any]] = []
        for _ in range(ASKS_PER_SET * n):
            if len(out) >= n:
                break
            trial = study.ask(dists)
            dims = {d.name: _value(d, trial.params[d.name]) for d in space.dims}
            params = space.complete([dims])[0]
            if space.key(params) in seen or not space.feasible([params])[0]:
                study.tell(trial, state=TrialState.FAIL)
                continue
            seen.add(space.key(params))
            out.append(params)
    if len(out) < n:
        taken = [p for p, _ in history] + out
        out += random_sets(space, n - len(out), round_seed, exclude=taken)
    return out
