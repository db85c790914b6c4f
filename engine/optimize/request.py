"""``POST /optimization/parameters`` bodies: read once, checked once, every problem reported.

The base backtest is either ``backtest_id`` (the caller loads that backtest's spec and passes
it as ``base_spec``) or an inline ``base_spec`` body. Grid requests are expanded here, so a
request that is accepted knows its exact number of parameter sets.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.canonical import Canonical
from engine.errors import SpecError
from engine.optimize.constraints import Constraint, ConstraintSyntaxError, parse_constraint
from engine.optimize.search import SearchSpace, grid, random_sets
from engine.optimize.space import grid_size, parse_ranges
from engine.optimize.targets import Target, get_target
from engine.optimize.windows import Validation, parse_validation
from engine.requests import JobLabels, Resolver
from engine.spec import BacktestSpec, parse_spec
from engine.strategies import Strategy, get_strategy

METHODS = ("grid", "random", "bayesian")
DEFAULT_MAX_ITERATIONS = 100
DEFAULT_GRID_LIMIT = 100_000
FIELDS = (
    "backtest_id", "base_spec", "parameter_ranges", "optimization_target", "max_iterations",
    "use_parallel", "method", "seed", "round_size", "constraints", "validation",
)  # fmt: skip


@dataclass(frozen=True)
class OptimizationRequest(Canonical):
    """A validated optimization: the base spec, the search and how it is judged."""

    base_spec: BacktestSpec
    backtest_id: str | None = field(compare=False)  # provenance only: base_spec is the content
    space: SearchSpace
    target: Target
    method: str
    max_iterations: int
    use_parallel: bool
    seed: int
    round_size: int
    validation: Validation
    constraints: tuple[str, ...]
    parameter_ranges: Mapping[str, Any]
    grid_sets: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def strategy(self) -> Strategy:
        return self.space.strategy

    @property
    def adaptive(self) -> bool:
        return self.method == "bayesian"

    @property
    def planned_sets(self) -> int:
        """How many sets the search will score (random may find fewer in a small space)."""
        return len(self.grid_sets) if self.method == "grid" else self.max_iterations

    def job_labels(self) -> JobLabels:
        """The job row's labels; the work is parameter sets x the base backtest's cells."""
        base = self.base_spec.job_labels()
        return JobLabels(
            name=f"optimize {base.name}"[:200],
            strategy_id=base.strategy_id,
            backtest_type="parameter_optimization",
            symbols_count=base.symbols_count,
            cells=self.planned_sets * base.cells,
            acceleration_requested=base.acceleration_requested,
            summary=self.summary(),
        )

    def summary(self) -> dict[str, Any]:
        """What status views need from the request, computed once at submission."""
        from engine.optimize.windows import selection_name, window_names

        return {
            "optimization_target": self.target.metric,
            "direction": self.target.direction,
            "method": self.method,
            "parameter_combinations": self.planned_sets,
            "parameters": list(self.space.names),
            "windows": list(window_names(self.validation)),
            "selection_window": selection_name(self.validation),
            "original_parameters": dict(self.base_spec.strategy_parameters),
            "use_parallel": self.use_parallel,
            "backtest_id": self.backtest_id,
        }

    def candidates(self) -> list[dict[str, Any]]:
        """Every set a grid or random search scores, in order (adaptive searches use rounds)."""
        if self.method == "grid":
            return [dict(s) for s in self.grid_sets]
        if self.method == "random":
            return random_sets(self.space, self.max_iterations, self.seed)
        raise ValueError("a bayesian search proposes its sets round by round")

    def to_payload(self) -> dict[str, Any]:
        """JSON that ``parse_optimization_request`` reads back into an equal request: the base
        backtest inline, whether it was given inline or by ``backtest_id``."""
        return {
            "base_spec": self.base_spec.to_payload(),
            "parameter_ranges": dict(self.parameter_ranges),
            "optimization_target": self.target.metric,
            "max_iterations": self.max_iterations,
            "use_parallel": self.use_parallel,
            "method": self.method,
            "seed": self.seed,
            "round_size": self.round_size,
            "constraints": list(self.constraints),
            "validation": self.validation.describe(),
        }


class _Reader:
    """Collects field errors so that one response lists all of them."""

    def __init__(self, payload: Mapping[str, Any]):
        self.payload = payload
        self.errors: dict[str, list[str]] = {}
        self.extra: dict[str, Any] = {}

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def merge(self, exc: SpecError, prefix: str = "") -> None:
        for name, messages in exc.errors.items():
            self.errors.setdefault(f"{prefix}{name}", []).extend(messages)
        self.extra.update(exc.extra)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.payload.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(name, f"must be a whole number from {low} to {high}, got {value!r}")
            return default
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.payload.get(name, default)
        if not isinstance(value, bool):
            self.error(name, f"must be true or false, got {value!r}")
            return default
        return value

    def unknown_fields(self) -> None:
        for key in self.payload:
            if key not in FIELDS:
                close = difflib.get_close_matches(str(key), FIELDS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                self.error(str(key), f"unknown field.{hint}")


def parse_optimization_request(
    payload: Any,
    resolver: Resolver | None = None,
    *,
    max_grid_size: int = DEFAULT_GRID_LIMIT,
) -> OptimizationRequest:
    """Validate a request body; the ``resolver`` finds the spec of its ``backtest_id`` and
    checks an inline base spec's stored data (a stored request carries its base inline).

    ``max_grid_size`` caps the grid (and ``max_iterations``): a larger request is refused with
    its count and the limit.
    """
    if not isinstance(payload, Mapping):
        raise SpecError.single("body", "must be a JSON object with the optimization's fields")
    if resolver is not None:
        max_grid_size = resolver.max_parameter_sets
    read = _Reader(payload)
    read.unknown_fields()
    spec = _base_spec(read, resolver)
    method = payload.get("method", "grid")
    if method not in METHODS:
        read.error("method", f"must be one of {list(METHODS)}, got {method!r}")
    max_iterations = read.integer("max_iterations", DEFAULT_MAX_ITERATIONS, 1, max_grid_size)
    values = {
        "method": method,
        "max_iterations": max_iterations,
        "use_parallel": read.flag("use_parallel", True),
        "seed": read.integer("seed", 0, 0, 2**31 - 1),
        "round_size": read.integer("round_size", _round_size(max_iterations), 1, max_grid_size),
        "validation": _guarded(read, parse_validation, payload.get("validation")),
    }
    if spec is not None:
        values.update(_search(read, spec, payload))
    if read.errors:
        raise SpecError(read.errors, read.extra)
    request = OptimizationRequest(
        base_spec=spec,
        backtest_id=payload.get("backtest_id"),
        constraints=tuple(c.text for c in values["space"].constraints),
        parameter_ranges=dict(payload["parameter_ranges"]),
        **values,
    )
    return _with_grid(request, max_grid_size)


def _search(read: _Reader, spec: BacktestSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The target and the search space, both of which depend on the base spec."""
    has_benchmark = spec.benchmark_symbol is not None
    target = payload.get("optimization_target", "sharpe_ratio")
    strategy = get_strategy(spec.strategy_id)
    return {
        "target": _guarded(read, get_target, target, has_benchmark),
        "space": _space(read, spec, strategy, payload),
    }


def _round_size(max_iterations: int) -> int:
    return max(8, math.ceil(max_iterations / 10))


def _guarded(read: _Reader, fn, *args):
    try:
        return fn(*args)
    except SpecError as exc:
        read.merge(exc)
        return None


def _base_spec(read: _Reader, resolver: Resolver | None) -> BacktestSpec | None:
    has_id, inline = "backtest_id" in read.payload, read.payload.get("base_spec")
    if has_id and inline is not None:
        read.error("base_spec", "give either backtest_id or base_spec, not both")
        return None
    if inline is not None:
        try:
            return parse_spec(inline, resolver)
        except SpecError as exc:
            read.merge(exc, "base_spec.")
            return None
    if not has_id:
        read.error("backtest_id", "is required (or an inline base_spec with a backtest's fields)")
        return None
    backtest_id = read.payload["backtest_id"]
    stored = resolver.backtest(backtest_id) if resolver and isinstance(backtest_id, str) else None
    if stored is None:
        read.error("backtest_id", f"no backtest {backtest_id!r}: create it with POST /backtests")
    elif stored.spec is None:
        read.error("backtest_id", f"backtest {backtest_id!r} has a spec this version cannot read")
    return stored.spec if stored else None


def _space(
    read: _Reader, spec: BacktestSpec, strategy: Strategy, payload: Mapping[str, Any]
) -> SearchSpace | None:
    dims = _guarded(read, parse_ranges, payload.get("parameter_ranges"), strategy.params)
    constraints = _constraints(read, payload.get("constraints", []), strategy)
    if dims is None or constraints is None:
        return None
    return SearchSpace(strategy, dict(spec.strategy_parameters), dims, constraints)


def _constraints(read: _Reader, value: Any, strategy: Strategy) -> tuple[Constraint, ...] | None:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list):
        read.error("constraints", "must be a list of expressions such as 'fast < slow'")
        return None
    numeric = {p.name for p in strategy.params if p.kind in ("int", "float", "bool")}
    out = []
    for i, text in enumerate(texts):
        try:
            constraint = parse_constraint(text)
        except ConstraintSyntaxError as exc:
            read.error(f"constraints[{i}]", f"{exc} in {text!r}")
            continue
        for name in sorted(constraint.names - numeric):
            close = difflib.get_close_matches(name, sorted(numeric), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            read.error(
                f"constraints[{i}]",
                f"unknown numeric parameter {name!r}.{hint} Valid: {sorted(numeric)}",
            )
        out.append(constraint)
    return tuple(out) if not any(k.startswith("constraints") for k in read.errors) else None


def _with_grid(request: OptimizationRequest, limit: int) -> OptimizationRequest:
    """Expand a grid once, refusing grids over ``limit`` and grids with no feasible set."""
    from dataclasses import replace

    dims = request.space.dims
    if request.method != "grid":
        return request
    size = grid_size(dims)
    if size is None:
        raise SpecError.single(
            "parameter_ranges",
            "grid search needs lists or {min, max, step}; distributions need method "
            "'random' or 'bayesian'",
        )
    if size > limit:
        raise SpecError.single(
            "parameter_ranges",
            f"the grid has {size:,} parameter sets, more than the limit of {limit:,}: narrow "
            "the ranges, use larger steps, or use method 'random' with max_iterations",
        )
    sets = grid(request.space)
    if not sets:
        raise SpecError.single(
            "constraints", f"none of the {size:,} grid points satisfies the constraints"
        )
    return replace(request, grid_sets=tuple(sets))
