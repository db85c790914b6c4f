"""Rules documents to typed trees: read as data, checked field by field, never evaluated.

A document is JSON: declared ``parameters``, a ``long`` and/or ``short`` side with ``entry``
and optional ``exit`` conditions, and ``sizing``. An expression is a number, a string (a price
such as ``"close"``, or ``"$name"`` for a declared parameter) or a one-key object naming an
indicator or operator of ``engine.strategies.rules.library`` with a list of arguments:
``{"crosses_above": [{"sma": ["$fast"]}, {"sma": ["$slow"]}]}``. Strings are looked up in
those tables and nowhere else; every problem is reported under its path, and documents are
bounded (``MAX_NODES`` nodes, ``MAX_DEPTH`` levels, ``MAX_PARAMETERS`` parameters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import SpecError, did_you_mean
from engine.numbers import finite, number_problem
from engine.strategies.rules import library as lib

MAX_NODES = 200
MAX_DEPTH = 12
MAX_PARAMETERS = 20
MAX_DESCRIPTION = 500
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PARAM_TYPES = ("int", "float")
PARAM_KEYS = ("type", "default", "minimum", "maximum", "description")
DOCUMENT_KEYS = ("description", "parameters", "long", "short", "sizing")
SIDE_KEYS = ("entry", "exit")
SIZINGS = ("equal_weight", "fixed_fraction")
NUMBER, CONDITION = "number", "condition"
_ARITY = {"and": (2, None), "or": (2, None), "not": (1, 1), lib.LAG: (1, 1)}  # others: 2


@dataclass(frozen=True)
class Const:
    value: float | bool


@dataclass(frozen=True)
class ParamRef:
    name: str


@dataclass(frozen=True)
class Series:
    """A price (``window`` None) or an indicator ``kind`` over ``window`` bars, ``lag`` back."""

    source: str
    window: Const | ParamRef | None = None
    lag: int = 0


@dataclass(frozen=True)
class Apply:
    """A comparison, logic or arithmetic node (``op`` is the plan's operator name)."""

    op: str
    args: tuple[Node, ...]


Node = Const | ParamRef | Series | Apply


@dataclass(frozen=True)
class ParamDecl:
    name: str
    kind: str
    default: float
    low: float
    high: float
    description: str


@dataclass(frozen=True)
class Side:
    entry: Node
    exit: Node | None


@dataclass(frozen=True)
class RulesDoc:
    """A checked document: its parameters, sides and sizing (``fraction`` None: equal weight),
    and each indicator's window with where that indicator is first used (for errors found
    later)."""

    parameters: tuple[ParamDecl, ...]
    long: Side | None
    short: Side | None
    fraction: float | None
    windows: tuple[tuple[Const | ParamRef, str], ...]


class _Too(Exception):
    """The document is over a size limit: stop reading it."""


class _Reader:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.errors: dict[str, list[str]] = {}
        self.params: dict[str, ParamDecl] = {}
        self.used: set[str] = set()
        self.window_params: set[str] = set()
        self.windows: dict[Series, tuple[Const | ParamRef, str]] = {}
        self.nodes = 0

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    # --- parameters --------------------------------------------------------------------------

    def parameters(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            self.error(path, 'must be an object {name: {"type": "int", "default": ...}}')
            return
        if len(value) > MAX_PARAMETERS:
            self.error(path, f"declares {len(value)} parameters; at most {MAX_PARAMETERS}")
            return
        for name, decl in value.items():
            where = f"{path}.{name}"
            if not isinstance(name, str) or not NAME.match(name):
                self.error(where, "a parameter name is lower case letters, digits and _")
            elif (param := self.parameter(decl, where, name)) is not None:
                self.params[name] = param

    def parameter(self, decl: Any, path: str, name: str) -> ParamDecl | None:
        if not isinstance(decl, Mapping):
            self.error(path, 'must be an object such as {"type": "int", "default": 10, '
                       '"minimum": 2, "maximum": 200}')  # fmt: skip
            return None
        errors = len(self.errors)
        for key in decl:
            if key not in PARAM_KEYS:
                self.error(f"{path}.{key}", f"unknown key.{did_you_mean(key, PARAM_KEYS)}")
        kind = decl.get("type")
        if kind not in PARAM_TYPES:
            self.error(f"{path}.type", f"must be one of {list(PARAM_TYPES)}, got {_show(kind)}")
            return None
        numbers = {}
        for key in ("default", "minimum", "maximum"):
            v: Any = decl.get(key)
            problem = number_problem(v, kind)
            if problem:
                self.error(f"{path}.{key}", problem)
            else:
                numbers[key] = int(v) if kind == "int" else float(v)
        description = decl.get("description", "")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            self.error(f"{path}.description", f"must be text of at most {MAX_DESCRIPTION} chars")
        if len(numbers) == 3 and not numbers["minimum"] <= numbers["default"] <= numbers["maximum"]:
            self.error(f"{path}.default", "must lie between minimum and maximum")
        if len(self.errors) > errors:
            return None
        return ParamDecl(name, kind, numbers["default"], numbers["minimum"], numbers["maximum"],
                         description)  # fmt: skip

    # --- expressions -------------------------------------------------------------------------

    def condition(self, value: Any, path: str) -> Node | None:
        node, kind = self.expression(value, path, 1)
        if node is not None and kind != CONDITION:
            self.error(path, "must be a condition (a comparison, a cross, and/or/not), "
                       "not a number")  # fmt: skip
            return None
        return node

    def expression(self, value: Any, path: str, depth: int) -> tuple[Node | None, str | None]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.error(self.prefix, f"has more than {MAX_NODES} expression nodes")
            raise _Too
        if depth > MAX_DEPTH:
            self.error(path, f"nests deeper than {MAX_DEPTH} levels")
            raise _Too
        if isinstance(value, bool):
            return Const(value), CONDITION
        if isinstance(value, int | float):
            problem = number_problem(value)
            if problem:
                self.error(path, problem)
                return None, None
            return Const(float(value)), NUMBER
        if isinstance(value, str):
            return self.name(value, path), NUMBER
        if isinstance(value, Mapping) and len(value) == 1:
            op, args = next(iter(value.items()))
            return self.call(str(op), args, f"{path}.{_short(op)}", depth)
        self.error(path, 'an expression is a number, a price such as "close", a "$parameter" '
                   'or a one-key object such as {"sma": [20]}')  # fmt: skip
        return None, None

    def name(self, value: str, path: str) -> Node | None:
        if value.startswith("$"):
            name = value[1:]
            if name not in self.params:
                declared = sorted(f"${n}" for n in self.params)
                hint = did_you_mean(value, declared)
                self.error(path, f"unknown parameter {_show(value)}.{hint} "
                           f"Declared parameters: {declared}")  # fmt: skip
                return None
            self.used.add(name)
            return ParamRef(name)
        if value == "volume":
            return Series("volume_sma", Const(1.0))
        if value in lib.PRICES:
            return Series(value)
        hint = did_you_mean(value, [*lib.PRICES, *(f"${n}" for n in self.params)])
        self.error(path, f"unknown name {_show(value)}.{hint} A string is a price "
                   f"{list(lib.PRICES)} or a $parameter")  # fmt: skip
        return None

    def call(self, op: str, args: Any, path: str, depth: int) -> tuple[Node | None, str | None]:
        known = [*lib.INDICATORS, *lib.COMPARISONS, *lib.CROSSES, *lib.LOGIC, *lib.ARITHMETIC,
                 lib.LAG]  # fmt: skip
        if op not in known:
            self.error(path, f"unknown indicator or operator {_show(op)}."
                       f"{did_you_mean(op, known)} Known: {sorted(known)}")  # fmt: skip
            return None, None
        if not isinstance(args, list):
            self.error(path, f'takes a list of arguments, such as {{"{op}": [...]}}')
            return None, None
        if op in lib.INDICATORS:
            return self.indicator(lib.INDICATORS[op], args, path, depth), NUMBER
        low, high = _ARITY.get(op, (2, 2))
        if len(args) < low or (high is not None and len(args) > high):
            count = f"{low}" if low == high else f"at least {low}"
            self.error(path, f"takes {count} argument(s), got {len(args)}")
            return None, None
        want = CONDITION if op in lib.LOGIC else NUMBER
        parts = []
        for i, arg in enumerate(args):
            node, kind = self.expression(arg, f"{path}[{i}]", depth + 1)
            if node is not None and kind != want:
                self.error(f"{path}[{i}]", f"must be a {want}, got a {kind}")
                node = None
            parts.append(node)
        nodes = [p for p in parts if p is not None]
        if len(nodes) < len(parts):
            return None, None
        if op == lib.LAG:
            return self.lagged(nodes[0], path), NUMBER
        if op in lib.CROSSES:
            return self.cross(op, nodes[0], nodes[1], path), CONDITION
        if op in lib.LOGIC:
            return _fold(op, nodes), CONDITION
        if op in lib.COMPARISONS:
            return Apply(lib.COMPARISONS[op], tuple(nodes)), CONDITION
        return Apply(lib.ARITHMETIC[op], tuple(nodes)), NUMBER

    def indicator(self, spec: lib.IndicatorDef, args: list, path: str, depth: int) -> Node | None:
        names = ["window"] + (["multiplier"] if spec.multiplier else [])
        if len(args) != spec.arity:
            self.error(path, f"{spec.name} takes {spec.arity} argument(s) ({', '.join(names)}), "
                       f"got {len(args)}")  # fmt: skip
            return None
        window = self.window(args[0], f"{path}[0]")
        k = None
        if spec.multiplier:
            k, kind = self.expression(args[1], f"{path}[1]", depth + 1)
            if k is not None and (kind != NUMBER or not isinstance(k, Const | ParamRef)):
                self.error(f"{path}[1]", "the multiplier is a number or a $parameter")
                k = None
        if window is None or (spec.multiplier and k is None):
            return None
        series = Series(spec.kind, window)
        self.windows.setdefault(series, (window, f"{path}[0]"))
        if k is None:  # no multiplier
            return series
        spread = Apply("mul", (k, Series("stdev", window)))
        return Apply("add" if spec.name.endswith("upper") else "sub", (series, spread))

    def window(self, value: Any, path: str) -> Const | ParamRef | None:
        if isinstance(value, str) and value.startswith("$"):
            ref = self.name(value, path)
            if ref is None:
                return None
            decl = self.params[value[1:]]
            if decl.kind != "int":
                self.error(path, f"a window must be an int parameter; {value} is a {decl.kind}")
                return None
            if decl.low < 1 or decl.high > lib.MAX_WINDOW:
                self.error(f"{self.prefix}.parameters.{decl.name}",
                           f"is a window: its minimum must be at least 1 and its maximum at most "
                           f"{lib.MAX_WINDOW}")  # fmt: skip
                return None
            self.window_params.add(decl.name)
            return ParamRef(decl.name)
        whole = finite(value) and float(value) == int(value)
        if not whole or not 1 <= value <= lib.MAX_WINDOW:
            self.error(path, f"a window is a whole number from 1 to {lib.MAX_WINDOW} or an int "
                       f"$parameter, got {_show(value)}")  # fmt: skip
            return None
        return Const(float(int(value)))

    def lagged(self, node: Node, path: str) -> Node | None:
        """``node`` one bar earlier: every price and indicator in it read at ``t - 1``."""
        if isinstance(node, Const | ParamRef):
            return node
        if isinstance(node, Series):
            if node.lag:
                self.error(path, "reads one bar back at most (prev of prev, or a cross of prev)")
                return None
            return Series(node.source, node.window, 1)
        lagged = [self.lagged(a, path) for a in node.args]
        args = tuple(a for a in lagged if a is not None)
        if len(args) < len(lagged):
            return None
        return Apply(node.op, args)

    def cross(self, op: str, a: Node, b: Node, path: str) -> Node | None:
        a_prev, b_prev = self.lagged(a, path), self.lagged(b, path)
        if a_prev is None or b_prev is None:
            return None
        before, after = ("lt", "gt") if op == "crosses_above" else ("gt", "lt")
        return Apply("and", (Apply(before, (a_prev, b_prev)), Apply(after, (a, b))))

    # --- sides and sizing --------------------------------------------------------------------

    def side(self, value: Any, path: str) -> Side | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.error(path, 'must be an object {"entry": condition, "exit": condition}')
            return None
        for key in value:
            if key not in SIDE_KEYS:
                self.error(f"{path}.{_short(key)}", f"unknown key.{did_you_mean(key, SIDE_KEYS)}")
        if "entry" not in value:
            self.error(f"{path}.entry", "is required")
            return None
        entry = self.condition(value["entry"], f"{path}.entry")
        exit_ = self.condition(value["exit"], f"{path}.exit") if "exit" in value else None
        if entry is None or ("exit" in value and exit_ is None):
            return None
        return Side(entry, exit_)

    def sizing(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        method = value.get("method") if isinstance(value, Mapping) else None
        if method not in SIZINGS:
            self.error(f"{path}.method", f"must be one of {list(SIZINGS)}, got {_show(method)}")
            return None
        extra = set(value) - {"method", "fraction"}
        if extra:
            self.error(path, f"unknown keys {sorted(map(str, extra))}")
        if method == "equal_weight":
            return None
        fraction = value.get("fraction")
        if not finite(fraction) or not 0 < fraction <= 1:
            self.error(f"{path}.fraction", f"must be a number in (0, 1], got {_show(fraction)}")
            return None
        return float(fraction)


def parse_rules(document: Any, prefix: str = "strategy") -> RulesDoc:
    """A checked ``RulesDoc``; a ``SpecError`` listing every problem under its path."""
    reader = _Reader(prefix)
    if not isinstance(document, Mapping):
        raise SpecError.single(prefix, "must be an object with parameters, long/short, sizing")
    for key in document:
        if key not in DOCUMENT_KEYS:
            reader.error(f"{prefix}.{_short(key)}",
                         f"unknown key.{did_you_mean(key, DOCUMENT_KEYS)}")  # fmt: skip
    description = document.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        reader.error(f"{prefix}.description", f"must be text of at most {MAX_DESCRIPTION} chars")
    reader.parameters(document.get("parameters"), f"{prefix}.parameters")
    sides = {}
    try:
        for name in ("long", "short"):
            sides[name] = reader.side(document.get(name), f"{prefix}.{name}")
    except _Too:
        raise SpecError(reader.errors) from None
    if "long" not in document and "short" not in document:
        reader.error(prefix, "needs a long or a short side (or both)")
    fraction = reader.sizing(document.get("sizing"), f"{prefix}.sizing")
    if not reader.errors:
        for name in sorted(set(reader.params) - reader.used):
            reader.error(f"{prefix}.parameters.{name}", "is declared but no rule uses it")
    if reader.errors:
        raise SpecError(reader.errors)
    return RulesDoc(
        tuple(reader.params.values()),
        sides["long"],
        sides["short"],
        fraction,
        tuple(reader.windows.values()),
    )


def _fold(op: str, parts: list[Node]) -> Node:
    if op == "not":
        return Apply("not", (parts[0],))
    node = parts[0]
    for part in parts[1:]:
        node = Apply(op, (node, part))
    return node


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: Any) -> str:
    """A user's value in a message, bounded (the message must not echo a whole payload)."""
    return _short(repr(value), 60)
