"""Strategies as data: indicators with window parameters, event expressions and a sizing rule.

A ``Plan`` is the one definition of a strategy. Its ``rule`` is plain Python written with
operators on ``Expr`` values (``fast.prev < slow.prev``, ``&``, ``|``, ``~``); calling it once
with symbolic inputs records expression trees, which each backend turns into its own code:
``engine.strategies.jax_signals`` evaluates them on whole ``(P, T, S)`` arrays, and
``accel.lanes_codegen`` writes them into the fused per-lane numba loop. A rules document
(issue 11) parses into the same trees.

Positions come from legs: a leg (long or short) is held from its latest ``enter`` event until
a ``leave`` event (``leave`` wins when both fire on one bar). ``equal`` sizing gives each symbol
``(long - short) / S``; ``TopK`` ranks symbols across the market on a rebalance schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INDICATOR_KINDS = (
    "sma", "zscore", "rsi", "highest", "lowest", "momentum", "ema", "stdev", "atr", "volume_sma"
)  # fmt: skip
PRICE_FIELDS = ("open", "high", "low", "close", "valid")


class Expr:
    """A node of an expression tree: ``op`` and its ``args`` (leaves hold names or numbers)."""

    __slots__ = ("op", "args")

    def __init__(self, op: str, *args: Any) -> None:
        self.op, self.args = op, args

    def __repr__(self) -> str:
        return f"{self.op}{self.args!r}"

    @property
    def prev(self) -> Expr:
        """The same series one bar earlier (indicators and prices only)."""
        if self.op not in ("ind", "price") or self.args[1] != 0:
            raise ValueError(f"only a current indicator or price has a previous bar, not {self}")
        return Expr(self.op, self.args[0], 1)

    def _bin(self, op: str, other: Any, swap: bool = False) -> Expr:
        other = other if isinstance(other, Expr) else Expr("const", float(other))
        return Expr(op, other, self) if swap else Expr(op, self, other)

    def __lt__(self, other):
        return self._bin("lt", other)

    def __le__(self, other):
        return self._bin("le", other)

    def __gt__(self, other):
        return self._bin("gt", other)

    def __ge__(self, other):
        return self._bin("ge", other)

    def __and__(self, other):
        return self._bin("and", other)

    def __or__(self, other):
        return self._bin("or", other)

    def __invert__(self):
        return Expr("not", self)

    def __neg__(self):
        return Expr("neg", self)

    def __add__(self, other):
        return self._bin("add", other)

    def __sub__(self, other):
        return self._bin("sub", other)

    def __rsub__(self, other):
        return self._bin("sub", other, swap=True)

    def __mul__(self, other):
        return self._bin("mul", other)

    def __truediv__(self, other):
        return self._bin("div", other)


FALSE = Expr("const", False)


@dataclass(frozen=True)
class Indicator:
    """A series per symbol computed once per distinct value of its ``window`` parameter."""

    kind: str
    window: str  # name of the integer parameter that sets the window

    def __post_init__(self) -> None:
        if self.kind not in INDICATOR_KINDS:
            raise ValueError(f"unknown indicator kind {self.kind!r}; known: {INDICATOR_KINDS}")


@dataclass(frozen=True)
class Leg:
    """Hold ``side`` (+1 long, -1 short) from an ``enter`` event until a ``leave`` event;
    ``gate`` names a boolean parameter that must be on for the leg to trade."""

    side: int
    enter: Expr
    leave: Expr
    gate: str | None = None


@dataclass(frozen=True)
class TopK:
    """Cross-sectional sizing: on the first bar of each period of ``schedule`` (a choice
    parameter over ``REBALANCE_CHOICES``) hold, at ``1 / k`` each, the ``k`` symbols with the
    highest ``score`` among those where ``eligible`` holds (ties in symbol order)."""

    score: Expr
    eligible: Expr
    k: str
    schedule: str


class Inputs:
    """What a rule reads: ``ind(name)``, ``param(name)``, ``price(field)`` as expressions."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def ind(self, name: str) -> Expr:
        if name not in self._plan.indicators:
            raise KeyError(f"{name!r} is not an indicator of this plan")
        return Expr("ind", name, 0)

    def param(self, name: str) -> Expr:
        return Expr("param", name)

    def price(self, field: str) -> Expr:
        if field not in PRICE_FIELDS:
            raise KeyError(f"unknown price field {field!r}; known: {PRICE_FIELDS}")
        return Expr("price", field, 0)


Rule = Callable[[Inputs], "tuple[Leg, ...] | TopK"]


@dataclass(frozen=True)
class Plan:
    """The one definition of a strategy: named indicators and a rule over them.

    Legs are sized ``(long - short) / S`` (equal weight), or ``(long - short) x fraction``
    per symbol when ``fraction`` is set (a rules document's fixed-fraction sizing).
    """

    indicators: dict[str, Indicator]
    rule: Rule
    fraction: float | None = None

    def __hash__(self) -> int:  # plans are static arguments of compiled programs
        return id(self)

    def traced(self) -> tuple[Leg, ...] | TopK:
        """The rule's expression trees (legs, or a cross-sectional sizing)."""
        return self.rule(Inputs(self))

    def param_names(self) -> tuple[str, ...]:
        """Every parameter the compiled rule reads, in first-use order."""
        traced = self.traced()
        names = [n.args[0] for tree in roots(traced) for n in walk(tree) if n.op == "param"]
        if isinstance(traced, TopK):
            names += [traced.k, traced.schedule]
        else:
            names += [leg.gate for leg in traced if leg.gate]
        return tuple(dict.fromkeys(names))


def roots(traced: tuple[Leg, ...] | TopK) -> list[Expr]:
    if isinstance(traced, TopK):
        return [traced.score, traced.eligible]
    return [e for leg in traced for e in (leg.enter, leg.leave)]


def walk(node: Expr):
    """Every node of a tree, parents first."""
    yield node
    for arg in node.args:
        if isinstance(arg, Expr):
            yield from walk(arg)


def long_short(up: Expr, down: Expr, gate: str = "allow_short") -> tuple[Leg, Leg]:
    """+1 after an ``up`` event, -1 (or flat while ``gate`` is off) after a ``down`` event."""
    return Leg(1, up, down), Leg(-1, down, up, gate)
