"""A checked rules document as a ``Strategy``: the same ``Plan`` trees as the built-ins.

Each distinct indicator series (kind and window) becomes one plan indicator; a constant window
becomes a fixed column that ``RulesStrategy.encode`` adds to every parameter set, so the
backends read it like a swept window. Sides become legs: a side is held from its entry until
its exit or the other side's entry. Strategies are cached by the document's canonical JSON,
so a document compiles (plan, JAX programs, numba kernels) once per process.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.canonical import canonical_json, content_hash
from engine.errors import SpecError
from engine.strategies.params import Param
from engine.strategies.plan import FALSE, Expr, Indicator, Leg, Plan
from engine.strategies.registry import Strategy
from engine.strategies.rules.parse import (
    Apply,
    Const,
    Node,
    ParamRef,
    RulesDoc,
    Series,
    parse_rules,
)

RULES_ID = "rules"
LANGUAGE_VERSION = "1.0"
CACHED_DOCUMENTS = 256


@dataclass(frozen=True, eq=False)
class RulesStrategy(Strategy):
    """A strategy compiled from a rules document; ``fixed`` holds its constant windows."""

    fixed: tuple[tuple[str, int], ...] = ()
    windows: tuple[tuple[str, str, str], ...] = ()  # (window column, its path, param or "")
    document_hash: str = ""

    def encode(self, param_sets: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        encoded = super().encode(param_sets)
        n = len(param_sets)
        return {**encoded, **{name: np.full(n, float(w)) for name, w in self.fixed}}

    def check_windows(self, resolved: Mapping[str, Any], bars: int) -> None:
        """Every window must fit in ``bars`` (an upper estimate of the request's bars)."""
        errors: dict[str, list[str]] = {}
        fixed = dict(self.fixed)
        for column, path, param in self.windows:
            window = resolved[param] if param else fixed[column]
            if window > bars:
                field = f"strategy_parameters.{param}" if param else path
                errors.setdefault(field, []).append(
                    f"window {window} is longer than the data: the dates span at most {bars} bars"
                )
        if errors:
            raise SpecError(errors)

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "document_hash": self.document_hash}


def compile_rules(document: Any) -> RulesStrategy:
    """The strategy of a rules document (``SpecError`` under ``strategy.*`` paths if invalid)."""
    return _compiled(canonical_json(document))


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _compiled(text: str) -> RulesStrategy:
    document = json.loads(text)
    doc = parse_rules(document)
    builder = _Builder()
    legs = _legs(doc, builder)
    plan = Plan(builder.indicators, lambda _inputs: legs, fraction=doc.fraction)
    params = tuple(
        Param(p.name, p.kind, p.default, p.description or "Declared by the rules document.",
              low=p.low, high=p.high)
        for p in doc.parameters
    )  # fmt: skip
    windows = tuple(
        (builder.column(window), path, _param_name(window)) for window, path in doc.windows
    )
    return RulesStrategy(
        RULES_ID,
        LANGUAGE_VERSION,
        "A strategy described by a rules document.",
        params,
        plan,
        fixed=tuple(sorted(builder.fixed.items())),
        windows=windows,
        document_hash=content_hash(document),
    )


class _Builder:
    """Typed nodes to plan expressions, naming one plan indicator per distinct series."""

    def __init__(self) -> None:
        self.indicators: dict[str, Indicator] = {}
        self.fixed: dict[str, int] = {}

    def column(self, window: Const | ParamRef) -> str:
        if isinstance(window, ParamRef):
            return window.name
        name = f"_window_{int(window.value)}"
        self.fixed[name] = int(window.value)
        return name

    def expr(self, node: Node) -> Expr:
        if isinstance(node, Const):
            return Expr("const", node.value)
        if isinstance(node, ParamRef):
            return Expr("param", node.name)
        if isinstance(node, Series):
            if node.window is None:
                return Expr("price", node.source, node.lag)
            column = self.column(node.window)
            name = f"{node.source}{column}" if column.startswith("_") else f"{node.source}_{column}"
            self.indicators.setdefault(name, Indicator(node.source, column))
            return Expr("ind", name, node.lag)
        assert isinstance(node, Apply)
        return Expr(node.op, *(self.expr(a) for a in node.args))


def _legs(doc: RulesDoc, builder: _Builder) -> tuple[Leg, ...]:
    entries = {
        side: builder.expr(rules.entry)
        for side, rules in (("long", doc.long), ("short", doc.short))
        if rules is not None
    }
    legs = []
    for side, sign, other in (("long", 1, "short"), ("short", -1, "long")):
        rules = getattr(doc, side)
        if rules is None:
            continue
        leave = builder.expr(rules.exit) if rules.exit is not None else None
        reverse = entries.get(other)
        if leave is None:
            leave = reverse if reverse is not None else FALSE
        elif reverse is not None and repr(reverse) != repr(leave):
            leave = leave | reverse
        legs.append(Leg(sign, entries[side], leave))
    return tuple(legs)


def _param_name(window: Const | ParamRef) -> str:
    return window.name if isinstance(window, ParamRef) else ""
