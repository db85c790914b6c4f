"""``POST /optimization/parameters`` bodies: read once, checked once, every problem reported.

The base backtest is either ``backtest_id`` (the caller loads that backtest's spec and passes
it as ``base_spec``) or an inline ``base_spec`` body. Grid requests are expanded here, so a
request that is accepted knows its exact number of parameter sets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.canonical import Canonical
from engine.errors import SpecError, did_you_mean
from engine.fields import Field, object_schema, read_fields
from engine.optimize.constraints import Constraint, ConstraintSyntaxError, parse_constraint
from engine.optimize.search import SearchSpace, grid, random_sets
from engine.optimize.space import grid_size, parse_ranges
from engine.optimize.targets import Target, get_target
from engine.optimize.windows import Validation, parse_validation
from engine.requests import JobLabels, Resolver
from engine.signals import TARGET_WEIGHTS
from engine.spec import BacktestSpec, parse_spec
from engine.spec_fields import FieldChecker
from engine.strategies import Strategy

METHODS = ("grid", "random", "bayesian")
DEFAULT_MAX_ITERATIONS = 100
DEFAULT_GRID_LIMIT = 100_000
FIELD_NAMES = (
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


def _fields(max_grid_size: int) -> tuple[Field, ...]:
    """The plain fields of a request (the base backtest and the search read themselves)."""
    return (
        Field("max_iterations", "integer", "Sets a random or bayesian search scores.", low=1,
              high=max_grid_size),
        Field("use_parallel", "flag", "Spread the sets over many tasks (a chord)."),
        Field("method", "choice", "How parameter sets are chosen.", choices=METHODS),
        Field("seed", "integer", "Seed of random and bayesian searches.", low=0, high=2**31 - 1),
    )  # fmt: skip


DEFAULTS = {
    "max_iterations": DEFAULT_MAX_ITERATIONS,
    "use_parallel": True,
    "method": "grid",
    "seed": 0,
    "optimization_target": "sharpe_ratio",
    "constraints": [],
}


def openapi_schema(max_grid_size: int = DEFAULT_GRID_LIMIT) -> dict[str, Any]:
    """The JSON schema of a ``POST /optimization/parameters`` body."""
    from engine.optimize.targets import DIRECTIONS

    grid = {"type": "array", "items": {}, "minItems": 1}
    span = {"type": "object", "required": ["min", "max"],
            "properties": {k: {"type": "number"} for k in ("min", "max", "step")}}  # fmt: skip
    return object_schema(
        _fields(max_grid_size),
        DEFAULTS,
        backtest_id={"type": "string", "description": "A stored backtest to start from."},
        base_spec={"$ref": "#/components/schemas/BacktestRequest"},
        parameter_ranges={
            "type": "object",
            "additionalProperties": {"oneOf": [grid, span, {"type": "object"}]},
            "description": "{parameter: [values] | {min, max, step} | a distribution}",
            "example": {
                "fast_period": [5, 10, 20],
                "slow_period": {"min": 30, "max": 90, "step": 30},
            },
        },  # fmt: skip
        optimization_target={
            "type": "string",
            "enum": sorted(DIRECTIONS),
            "default": DEFAULTS["optimization_target"],
        },  # fmt: skip
        round_size={"type": "integer", "minimum": 1, "description": "bayesian: sets per round"},
        constraints={
            "type": "array",
            "items": {"type": "string"},
            "example": ["fast_period < slow_period"],
        },  # fmt: skip
        validation={
            "type": "object",
            "example": {"scheme": "holdout", "out_of_sample_fraction": 0.3},
        },  # fmt: skip
    ) | {"required": ["parameter_ranges"]}


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
    read = FieldChecker(payload, defaults=DEFAULTS, known=FIELD_NAMES)
    read.unknown_fields()
    spec = _base_spec(read, resolver)
    values = read_fields(read, _fields(max_grid_size))
    read.defaults["round_size"] = _round_size(values["max_iterations"] or DEFAULT_MAX_ITERATIONS)
    values["round_size"] = read.integer("round_size", 1, max_grid_size)
    values["validation"] = _guarded(read, parse_validation, payload.get("validation"))
    if spec is not None:
        values.update(_search(read, spec, payload))
    read.raise_if_errors()
    assert spec is not None  # _base_spec records an error whenever it finds none
    request = OptimizationRequest(
        base_spec=spec,
        backtest_id=payload.get("backtest_id"),
        constraints=tuple(c.text for c in values["space"].constraints),
        parameter_ranges=dict(payload["parameter_ranges"]),
        **values,
    )
    return _with_grid(request, max_grid_size)


def _search(read: FieldChecker, spec: BacktestSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The target and the search space, both of which depend on the base spec."""
    if spec.strategy_id == TARGET_WEIGHTS:
        read.error("base_spec.strategy_id", "target_weights has no parameters to optimize: "
                   "an optimization sweeps a strategy's strategy_parameters")  # fmt: skip
        return {}
    has_benchmark = spec.benchmark_symbol is not None
    target = payload.get("optimization_target", "sharpe_ratio")
    strategy = spec.strategy_definition()
    return {
        "target": _guarded(read, get_target, target, has_benchmark),
        "space": _space(read, spec, strategy, payload),
    }


def _round_size(max_iterations: int) -> int:
    return max(8, math.ceil(max_iterations / 10))


def _guarded(read: FieldChecker, fn, *args):
    try:
        return fn(*args)
    except SpecError as exc:
        read.merge(exc)
        return None


def _base_spec(read: FieldChecker, resolver: Resolver | None) -> BacktestSpec | None:
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
    read: FieldChecker, spec: BacktestSpec, strategy: Strategy, payload: Mapping[str, Any]
) -> SearchSpace | None:
    dims = _guarded(read, parse_ranges, payload.get("parameter_ranges"), strategy.params)
    constraints = _constraints(read, payload.get("constraints", []), strategy)
    if dims is None or constraints is None:
        return None
    return SearchSpace(strategy, dict(spec.strategy_parameters), dims, constraints)


def _constraints(
    read: FieldChecker, value: Any, strategy: Strategy
) -> tuple[Constraint, ...] | None:
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
            hint = did_you_mean(name, numeric)
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
