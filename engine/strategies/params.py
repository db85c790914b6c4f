"""Parameter schemas: what a strategy accepts, validated once at the boundary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import SpecError, did_you_mean
from engine.numbers import number_problem


@dataclass(frozen=True)
class Param:
    """One strategy parameter: ``kind`` is ``int``, ``float``, ``bool`` or ``choice``."""

    name: str
    kind: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "default": self.default}
        if self.kind in ("int", "float"):
            out.update(minimum=self.low, maximum=self.high)
        if self.choices:
            out["choices"] = list(self.choices)
        out["description"] = self.description
        return out

    def coerce(self, value: Any, field: str) -> Any:
        """The value in canonical form, or a SpecError saying what is accepted."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise SpecError.single(field, f"must be true or false, got {value!r}")
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise SpecError.single(field, f"must be one of {list(self.choices)}, got {value!r}")
        return self._coerce_number(value, field)

    def _coerce_number(self, value: Any, field: str) -> int | float:
        problem = number_problem(value, self.kind)
        if problem:
            raise SpecError.single(field, problem)
        value = int(value) if self.kind == "int" else float(value)
        if not self.low <= value <= self.high:
            raise SpecError.single(
                field, f"must be between {self.low} and {self.high}, got {value!r}"
            )
        return value

    def encode(self, value: Any) -> float:
        """The value as a number for batched kernels (choices become their index)."""
        return float(self.choices.index(value)) if self.kind == "choice" else float(value)


def unknown_key_message(key: str, valid: Sequence[str]) -> str:
    return f"unknown parameter {key!r}.{did_you_mean(key, valid)} Valid parameters: {sorted(valid)}"


def resolve_params(
    schema: Sequence[Param], values: Mapping[str, Any], prefix: str
) -> dict[str, Any]:
    """Defaults filled in, every value checked; all problems are reported together."""
    by_name = {p.name: p for p in schema}
    errors: dict[str, list[str]] = {}
    for key in values:
        if key not in by_name:
            errors.setdefault(f"{prefix}.{key}", []).append(unknown_key_message(key, list(by_name)))
    resolved: dict[str, Any] = {}
    for param in schema:
        try:
            resolved[param.name] = param.coerce(
                values.get(param.name, param.default), f"{prefix}.{param.name}"
            )
        except SpecError as exc:
            for field, msgs in exc.errors.items():
                errors.setdefault(field, []).extend(msgs)
    if errors:
        raise SpecError(errors)
    return resolved
