"""Search spaces: what each optimized parameter may take, read from ``parameter_ranges``.

A range is a list of values, ``{min, max, step}`` (an inclusive arithmetic grid), or a
distribution ``{distribution: uniform | log_uniform | int_uniform | choice, ...}`` for random
and Bayesian search. Every value is checked against the strategy's parameter schema here, once,
so later stages only see valid parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import SpecError
from engine.numbers import finite
from engine.strategies.params import Param, unknown_key_message

DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
MAX_VALUES_PER_RANGE = 100_000


@dataclass(frozen=True)
class Dimension:
    """One parameter's range: a finite set of ``values`` or a continuous distribution."""

    param: Param
    values: tuple[Any, ...] = ()  # finite ranges (lists, {min, max, step}, choice)
    distribution: str | None = None  # uniform, log_uniform, int_uniform (values empty)
    low: float = 0.0
    high: float = 0.0
    step: float | None = None

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def finite(self) -> bool:
        return self.distribution is None

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """``n`` draws: uniform over the values, or from the distribution."""
        if self.finite:
            return [self.values[i] for i in rng.integers(0, len(self.values), n)]
        if self.distribution == "int_uniform":
            step = int(self.step or 1)
            count = (int(self.high) - int(self.low)) // step + 1
            return [int(self.low) + step * int(k) for k in rng.integers(0, count, n)]
        if self.distribution == "log_uniform":
            draws = np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
        else:
            draws = rng.uniform(self.low, self.high, n)
        return [self._snap(float(x)) for x in draws]

    def _snap(self, x: float) -> float:
        if self.step:
            x = self.low + round((x - self.low) / self.step) * self.step
        return float(min(max(x, self.low), self.high))


def parse_ranges(
    ranges: Any, schema: tuple[Param, ...], field: str = "parameter_ranges"
) -> tuple[Dimension, ...]:
    """The dimensions of ``ranges``; every problem is reported under its field, together."""
    if not isinstance(ranges, Mapping) or not ranges:
        raise SpecError.single(
            field, "must be an object such as {'fast_period': [5, 10], 'slow_period': [20, 50]}"
        )
    by_name = {p.name: p for p in schema}
    errors: dict[str, list[str]] = {}
    dims = []
    for name, spec in ranges.items():
        where = f"{field}.{name}"
        if name not in by_name:
            errors.setdefault(where, []).append(unknown_key_message(str(name), list(by_name)))
            continue
        try:
            dims.append(parse_dimension(by_name[name], spec, where))
        except SpecError as exc:
            for key, messages in exc.errors.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise SpecError(errors)
    return tuple(dims)


def parse_dimension(param: Param, spec: Any, field: str) -> Dimension:
    """One parameter's range."""
    if isinstance(spec, list | tuple):
        return _listed(param, spec, field)
    if isinstance(spec, Mapping) and "distribution" in spec:
        return _distribution(param, spec, field)
    if isinstance(spec, Mapping) and {"min", "max"} <= set(spec):
        return _stepped(param, spec, field)
    raise SpecError.single(
        field,
        "must be a list of values, {min, max, step}, or {distribution: ...} with one of "
        f"{list(DISTRIBUTIONS)}",
    )


def _listed(param: Param, values: Any, field: str) -> Dimension:
    if not values:
        raise SpecError.single(field, "must list at least one value")
    coerced = [param.coerce(v, f"{field}[{i}]") for i, v in enumerate(values)]
    unique = tuple(dict.fromkeys(coerced))
    if len(unique) < len(coerced):
        raise SpecError.single(field, "lists a value more than once")
    return Dimension(param, values=unique)


def _number(spec: Mapping[str, Any], key: str, field: str) -> float:
    value = spec.get(key)
    if not finite(value):
        raise SpecError.single(f"{field}.{key}", f"must be a finite number, got {value!r}")
    return float(value)


def _bounds(param: Param, spec: Mapping[str, Any], field: str, low_key: str, high_key: str):
    if param.kind not in ("int", "float"):
        raise SpecError.single(
            field, f"{param.name} is a {param.kind}: list its values instead of a numeric range"
        )
    low, high = _number(spec, low_key, field), _number(spec, high_key, field)
    if low > high:
        raise SpecError.single(field, f"{low_key} ({low:g}) must not exceed {high_key} ({high:g})")
    for key, bound in ((low_key, low), (high_key, high)):
        whole = param.kind == "int" and bound.is_integer()
        param.coerce(int(bound) if whole else bound, f"{field}.{key}")
    step = spec.get("step")
    if step is not None:
        step = _number(spec, "step", field)
        if step <= 0 or (param.kind == "int" and not step.is_integer()):
            kind = "a positive whole number" if param.kind == "int" else "positive"
            raise SpecError.single(f"{field}.step", f"must be {kind}, got {spec['step']!r}")
    return low, high, step


def _stepped(param: Param, spec: Mapping[str, Any], field: str) -> Dimension:
    unknown = set(spec) - {"min", "max", "step"}
    if unknown:
        raise SpecError.single(field, f"unknown keys {sorted(unknown)}: use min, max and step")
    low, high, step = _bounds(param, spec, field, "min", "max")
    step = step or 1.0
    ratio = (high - low) / step  # inf for a subnormal step: checked before any int()
    if not math.isfinite(ratio) or ratio >= MAX_VALUES_PER_RANGE:
        message = f"has more than {MAX_VALUES_PER_RANGE} values; use a larger step"
        raise SpecError.single(field, message)
    count = math.floor(ratio + 1e-9) + 1
    values = low + step * np.arange(count)
    if param.kind == "int":
        return Dimension(param, values=tuple(int(round(v)) for v in values))
    decimals = max(0, -math.floor(math.log10(step)) + 6)  # 0.1 + 0.2 is 0.3 here
    return Dimension(param, values=tuple(min(float(round(v, decimals)), high) for v in values))


def _distribution(param: Param, spec: Mapping[str, Any], field: str) -> Dimension:
    kind = spec["distribution"]
    if kind not in DISTRIBUTIONS:
        raise SpecError.single(
            f"{field}.distribution", f"must be one of {list(DISTRIBUTIONS)}, got {kind!r}"
        )
    if kind == "choice":
        values = spec.get("values")
        if not isinstance(values, list | tuple):
            raise SpecError.single(f"{field}.values", "must list the choices, e.g. [5, 10, 20]")
        return _listed(param, values, f"{field}.values")
    if kind == "int_uniform" and param.kind != "int":
        raise SpecError.single(field, f"int_uniform needs an int parameter; {param.name} is not")
    if kind != "int_uniform" and param.kind == "int":
        raise SpecError.single(
            field, f"{param.name} is an int: use int_uniform, a list or {{min, max, step}}"
        )
    low, high, step = _bounds(param, spec, field, "low", "high")
    if kind == "log_uniform" and low <= 0:
        raise SpecError.single(f"{field}.low", "must be greater than 0 for log_uniform")
    return Dimension(param, distribution=kind, low=low, high=high, step=step)


def grid_size(dims: tuple[Dimension, ...]) -> int | None:
    """Points in the full grid, or None when a dimension is continuous."""
    if not all(d.finite for d in dims):
        return None
    return math.prod(len(d.values) for d in dims)


def space_size(dims: tuple[Dimension, ...]) -> float:
    """Distinct points the space holds (``inf`` when a dimension is continuous)."""
    size = 1.0
    for d in dims:
        if d.finite:
            size *= len(d.values)
        elif d.distribution == "int_uniform":
            size *= (int(d.high) - int(d.low)) // int(d.step or 1) + 1
        else:
            return math.inf
    return size
