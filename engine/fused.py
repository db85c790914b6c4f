"""The fused CPU backend: a strategy's plan compiled into the per-lane numba loop.

Indicators are computed once per distinct window (a 4,851-set SMA sweep needs 99 rows, not
9,702) with the same JAX indicator functions as the array path, then the generated kernel
(``accel.lanes_codegen``) walks each lane's bars once. ``simulate`` returns what
``engine.simulation.run_lanes`` returns; ``sweep_scores`` what ``engine.sweep.sweep`` does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import jax
import numpy as np

from accel import jit
from accel.kernel import Account, Costs, Path
from accel.lanes import STAT_FIELDS
from accel.lanes_codegen import LegCode, kernels, legs_rule, top_k_rule, weights_rule
from engine.exits import exit_inputs
from engine.fused_scores import block_ids, scores_from_stats
from engine.portfolio import Limits
from engine.signals import TARGET_WEIGHTS
from engine.simulation import execution_prices
from engine.strategies import Bars, Strategy
from engine.strategies.jax_signals import indicator_values
from engine.strategies.plan import Plan, TopK

WINDOW_BUCKET = 16
"""Distinct windows are padded to a multiple of this, so similar sweeps share one program."""
ACCOUNT_FIELDS = 7  # cash, orders, wins, losses, gross profit, gross loss, final equity
INDICATOR_BUDGET = 256 << 20
"""Bytes of indicator rows (and JAX's temporaries while computing them) one group may use."""
INDICATOR_COPIES = 6


@dataclass(frozen=True)
class Compiled:
    """A plan's kernels and the order of the indicator rows and parameter columns they read."""

    module: ModuleType
    indicators: tuple[str, ...]
    params: tuple[str, ...]


@functools.cache
def compiled(plan: Plan, name: str) -> Compiled:
    """Generate and compile ``plan``'s kernels (once per process; on disk when cached)."""
    indicators = {n: i for i, n in enumerate(plan.indicators)}
    params = {n: j for j, n in enumerate(plan.param_names())}
    rule = plan.traced()
    if isinstance(rule, TopK):
        source = top_k_rule(
            rule.score, rule.eligible, params[rule.k], params[rule.schedule], indicators, params
        )
        n_state = 1
    else:
        legs = [
            LegCode(leg.side, leg.enter, leg.leave, params[leg.gate] if leg.gate else None)
            for leg in rule
        ]
        source, n_state = legs_rule(legs, indicators, params, plan.fraction)
    return Compiled(kernels(name, source, n_state), tuple(indicators), tuple(params))


@functools.cache
def weights_code() -> Compiled:
    """The kernels that trade given target weights (``engine.signals``), read as row 0."""
    return Compiled(kernels(TARGET_WEIGHTS, weights_rule(), 1), ("weights",), ())


@functools.partial(jax.jit, static_argnums=0)
def _indicator_by_symbol(kind: str, bars: Bars, windows: jax.Array) -> jax.Array:
    """``(W, S, T)``: ``indicator_values`` laid out as the kernels walk it (time per symbol)."""
    return jax.numpy.swapaxes(indicator_values(kind, bars, windows), -1, -2)


def indicator_rows(plan: Plan, bars: Bars, params: Mapping[str, np.ndarray]):
    """``(R, S, T)`` indicator rows, one per distinct window, and each set's rows ``(P, K)``."""
    n_sets = len(params["_sets"])
    steps, width = bars.close.shape
    distinct = [
        np.unique(np.asarray(params[spec.window], np.int64), return_inverse=True)
        for spec in plan.indicators.values()
    ]
    ind = np.empty((sum(len(windows) for windows, _ in distinct), width, steps))
    rows, offset = np.zeros((n_sets, len(distinct)), np.int64), 0
    for k, (spec, (windows, inverse)) in enumerate(
        zip(plan.indicators.values(), distinct, strict=True)
    ):
        padded = np.resize(windows, _padded(len(windows)))
        values = np.asarray(_indicator_by_symbol(spec.kind, bars, padded))
        ind[offset : offset + len(windows)] = values[: len(windows)]
        rows[:, k] = offset + inverse
        offset += len(windows)
    return ind, rows


def _padded(n_windows: int) -> int:
    return -(-n_windows // WINDOW_BUCKET) * WINDOW_BUCKET


def _symbol_major(x: np.ndarray) -> np.ndarray:
    """``(..., T, S)`` as contiguous ``(..., S, T)``: the kernels walk time per symbol."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2))


class _Inputs:
    """The numpy arrays every kernel call reads, built once per call."""

    def __init__(self, strategy: Strategy | None, bars: Bars, params, fill: str, costs, limits,
                 exits=None, weights=None):  # fmt: skip
        """``strategy`` and its encoded ``params``, or (``strategy`` None) given ``weights``
        ``(T, S)`` for one lane."""
        if strategy is None:
            self.code = weights_code()
            self.ind = _symbol_major(np.asarray(weights, np.float64)[None])
            self.rows = np.zeros((1, 1), np.int64)
        else:
            self.code = compiled(strategy.plan, strategy.id)
            self.ind, self.rows = indicator_rows(strategy.plan, bars, params)
        self.prm = np.stack(
            [np.asarray(params[n], np.float64) for n in self.code.params]
            or [np.zeros(len(params["_sets"]))],
            axis=1,
        )
        fields = (bars.open, bars.high, bars.low, bars.close, bars.valid)
        self.bars = _symbol_major(np.stack([np.asarray(f, np.float64) for f in fields]))
        self.starts = np.array(bars.period_starts, np.bool_)  # a writable copy: one signature
        execute, value, mark, tradable = execution_prices(bars, fill)
        prices = np.stack([np.asarray(x, np.float64) for x in (execute, value, mark)])
        self.prices = _symbol_major(prices)
        self.tradable = np.array(np.asarray(tradable, np.bool_).T, order="C")  # writable
        self.fill_next = fill == "next_open"
        self.costs = tuple(float(c) for c in costs)
        self.limits = (
            float(limits.max_position),
            float(limits.max_leverage),
            float(limits.max_sector),
        )
        self.exits = exit_arrays(exits)

    def sector_map(self, limits: Limits, width: int) -> np.ndarray:
        if limits.sector_map is None:
            return np.zeros((0, width))
        return np.ascontiguousarray(limits.sector_map, np.float64)


def exit_arrays(exits) -> tuple[np.ndarray, np.ndarray, bool]:
    """The kernels' exit arguments: ATR distances ``(3, S, T)``, fractions, whether on."""
    if exits is None:
        return np.zeros((3, 0, 0)), np.full(3, np.inf), False
    atr = np.ascontiguousarray(np.transpose(np.asarray(exits.atr, np.float64), (1, 2, 0)))
    return atr, np.asarray(exits.fraction, np.float64), True


def simulate(
    strategy: Strategy | None,
    bars: Bars,
    params: Mapping[str, np.ndarray],
    costs: Costs,
    initial_cash: float,
    limits: Limits,
    *,
    fill: str,
    whole_shares: bool,
    exits=None,
    weights=None,
) -> tuple[Account, Path]:
    """One account per parameter set through every bar, with the whole path recorded.

    The accounts' ``sized_for`` and ``trade_cash`` are not kept by the fused loop (NaN).
    ``exits``: ``engine.exits.ExitInputs`` or None. ``strategy`` None: one account trading
    the given ``weights`` ``(T, S)`` (``params`` is then ``{"_sets": np.zeros(1)}``).
    """
    x = _Inputs(strategy, bars, params, fill, costs, limits, exits, weights)
    n_sets, (steps, width) = len(params["_sets"]), bars.close.shape
    accounts = np.zeros((n_sets, ACCOUNT_FIELDS))
    accounts[:, 0] = initial_cash
    paths = np.zeros((n_sets, steps, 3 + 3 * width))
    jit.use_threads()
    x.code.module.run_record(
        x.ind,
        x.rows,
        x.prm,
        x.bars,
        x.starts,
        np.zeros(n_sets, np.int64),
        x.prices,
        x.tradable,
        x.fill_next,
        whole_shares,
        x.costs,
        x.limits,
        x.sector_map(limits, width),
        *x.exits,
        accounts,
        paths,
    )
    unknown = np.full((n_sets, width), np.nan)
    held, closed, price = (paths[:, :, 3 + k * width : 3 + (k + 1) * width] for k in range(3))
    account = Account(accounts[:, 0], held[:, -1], unknown, unknown, *accounts[:, 1:6].T)
    path = Path(
        paths[:, :, 0].T,
        paths[:, :, 1].T,
        paths[:, :, 2].T,
        np.swapaxes(held, 0, 1),
        *((np.swapaxes(closed, 0, 1), np.swapaxes(price, 0, 1)) if x.exits[2] else ()),
    )
    return account, path


def sweep_scores(
    strategy: Strategy,
    bars: Bars,
    params: Mapping[str, np.ndarray],
    rules: Any,
    *,
    benchmark: np.ndarray | None,
    per_symbol: bool,
    tail_risk: bool,
    blocks: Any = None,
) -> dict[str, np.ndarray]:
    """Per-set scores (``(P,)``, or ``(P, S)`` with ``per_symbol``) as ``engine.sweep``'s.

    ``blocks`` (``n_blocks``, ``risk_free_per_period``) adds CSCV block sums per set. A
    ``per_symbol`` sweep runs in groups of symbols whose indicator rows fit ``INDICATOR_BUDGET``.
    """
    group = _symbols_per_group(strategy.plan, params, bars.close.shape[0])
    if per_symbol and bars.close.shape[1] > group:
        parts = [
            _sweep(strategy, _columns(bars, a, a + group), params, rules, None, True, tail_risk,
                   blocks)
            for a in range(0, bars.close.shape[1], group)
        ]  # fmt: skip
        return {k: np.concatenate([part[k] for part in parts], axis=1) for k in parts[0]}
    return _sweep(strategy, bars, params, rules, benchmark, per_symbol, tail_risk, blocks)


def _symbols_per_group(plan: Plan, params: Mapping[str, np.ndarray], steps: int) -> int:
    rows = sum(_padded(len(np.unique(params[i.window]))) for i in plan.indicators.values())
    return max(1, INDICATOR_BUDGET // (max(rows, 1) * steps * 8 * INDICATOR_COPIES))


def _columns(bars: Bars, start: int, stop: int) -> Bars:
    return bars._replace(**{f: getattr(bars, f)[:, start:stop] for f in bars.series_fields()})


def _sweep(strategy, bars, params, rules, benchmark, per_symbol, tail_risk, blocks) -> dict:
    n_sets, (steps, n_symbols) = len(params["_sets"]), bars.close.shape
    width = 1 if per_symbol else n_symbols
    lanes_per_set = n_symbols if per_symbol else 1
    exits = exit_inputs(rules.exits, bars, rules.fill)
    x = _Inputs(strategy, bars, params, rules.fill, rules.costs, rules.limits, exits)
    n_lanes = n_sets * lanes_per_set
    rf = rules.risk_free_rate / rules.periods_per_year
    bench = np.zeros(0) if benchmark is None else _returns(benchmark)
    n_blocks = blocks.n_blocks if blocks is not None else 0
    block_of = block_ids(steps - 1, n_blocks).astype(np.int64)
    accounts = np.zeros((n_lanes, ACCOUNT_FIELDS))
    accounts[:, 0] = rules.initial_cash
    stats = np.full((n_lanes, len(STAT_FIELDS)), np.nan)
    sums = np.zeros((n_lanes, n_blocks, 7))
    jit.use_threads()
    x.code.module.run_sweep(
        x.ind,
        x.rows,
        x.prm,
        x.bars,
        x.starts,
        np.repeat(np.arange(n_sets), lanes_per_set),
        np.tile(np.arange(lanes_per_set), n_sets),
        x.prices,
        x.tradable,
        x.fill_next,
        rules.whole_shares,
        x.costs,
        x.limits,
        x.sector_map(rules.limits, width),
        *x.exits,
        bench,
        rf,
        tail_risk or benchmark is not None,
        block_of,
        accounts,
        stats,
        sums,
    )
    scores = scores_from_stats(
        stats, accounts, steps, rules.periods_per_year, rf, tail_risk, benchmark
    )
    if n_blocks:
        scores["blocks"] = sums
    shape = (n_sets, n_symbols) if per_symbol else (n_sets,)
    return {k: v.reshape(shape + v.shape[1:]) for k, v in scores.items()}


def _returns(curve: np.ndarray) -> np.ndarray:
    curve = np.asarray(curve, np.float64)
    return curve[1:] / curve[:-1] - 1.0


def warm(strategy: Strategy) -> None:
    """Compile (or load from the disk cache) ``strategy``'s kernels with the argument types of
    real calls, on four bars of one symbol: no indicator is computed, so JAX is not involved."""
    code = compiled(strategy.plan, strategy.id)
    steps, n_ind, n_par = 4, len(code.indicators), max(len(code.params), 1)
    ind, prm = np.zeros((n_ind, 1, steps)), np.zeros((1, n_par))
    rows, lanes = np.zeros((1, n_ind), np.int64), np.zeros(1, np.int64)
    bars, prices = np.ones((5, 1, steps)), np.ones((3, 1, steps))
    starts, tradable = np.ones((3, steps), np.bool_), np.ones((1, steps), np.bool_)
    shared = (prices, tradable, True, False, (0.0, 0.0, 0.0), (1.0, 1.0, np.inf), np.zeros((0, 1)),
              *exit_arrays(None))  # fmt: skip
    accounts = np.ones((1, ACCOUNT_FIELDS))
    code.module.run_record(ind, rows, prm, bars, starts, lanes, *shared, accounts,
                           np.zeros((1, steps, 6)))  # fmt: skip
    stats, sums, bench = np.zeros((1, len(STAT_FIELDS))), np.zeros((1, 1, 7)), np.zeros(steps - 1)
    accounts = np.ones((1, ACCOUNT_FIELDS))
    code.module.run_sweep(ind, rows, prm, bars, starts, lanes, lanes, *shared, bench, 0.0, True,
                          np.zeros(steps - 1, np.int64), accounts, stats, sums)  # fmt: skip
