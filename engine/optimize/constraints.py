"""Constraints between parameters: a tiny expression language, parsed, never ``eval``-ed.

Grammar (whitespace is free)::

    constraint := sum (CMP sum)+          CMP is one of < <= > >=  (chains mean "and")
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | NUMBER | NAME | "(" sum ")"

``"fast_period < slow_period"``, ``"2 * fast_period <= slow_period"`` and
``"5 <= fast_period < slow_period"`` are constraints. A compiled constraint evaluates on
scalars and on arrays of encoded parameter values alike, so a batch is filtered in one step.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": lambda a, b: np.divide(np.asarray(a, dtype=float), b),  # x / 0 is inf, not an error
}
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|([A-Za-z_]\w*)|(<=|>=|[<>+\-*/()]))")
Node = Callable[[Mapping[str, Any]], Any]


class ConstraintSyntaxError(ValueError):
    """A constraint that does not parse; the message says where and what was expected."""


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: its text, the parameters it names and its compiled predicate."""

    text: str
    names: frozenset[str]
    predicate: Node

    def __call__(self, values: Mapping[str, Any]) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.predicate(values)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if match is None:
            raise ConstraintSyntaxError(f"unexpected character {text[pos:].strip()[0]!r}")
        number, name, symbol = match.groups()
        out.append(("num", number) if number else ("name", name) if name else ("op", symbol))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.pos = 0
        self.names: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConstraintSyntaxError("ends too early: expected a name, a number or '('")
        self.pos += 1
        return token

    def constraint(self) -> Node:
        first = self.sum()
        pairs: list[tuple[Callable, Node]] = []
        while (token := self.peek()) is not None and token[1] in COMPARISONS:
            self.pos += 1
            pairs.append((COMPARISONS[token[1]], self.sum()))
        if not pairs:
            raise ConstraintSyntaxError("needs a comparison: one of < <= > >=")
        if (token := self.peek()) is not None:
            raise ConstraintSyntaxError(f"unexpected {token[1]!r}")
        return _chain(first, pairs)

    def binary(self, ops: Mapping[str, Callable], operand: Callable[[], Node]) -> Node:
        node = operand()
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            node = _apply(ops[token[1]], node, operand())
        return node

    def sum(self) -> Node:
        return self.binary({k: ARITHMETIC[k] for k in "+-"}, self.product)

    def product(self) -> Node:
        return self.binary({k: ARITHMETIC[k] for k in "*/"}, self.unary)

    def unary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            value = float(text)
            return lambda values: value
        if kind == "name":
            self.names.add(text)
            return lambda values: values[text]
        if text == "-":
            inner = self.unary()
            return lambda values: -inner(values)
        if text == "(":
            inner = self.sum()
            if self.take()[1] != ")":
                raise ConstraintSyntaxError("expected ')'")
            return inner
        raise ConstraintSyntaxError(f"unexpected {text!r}: expected a name, a number or '('")


def _apply(op: Callable, left: Node, right: Node) -> Node:
    return lambda values: op(left(values), right(values))


def _chain(first: Node, pairs: list[tuple[Callable, Node]]) -> Node:
    def predicate(values: Mapping[str, Any]) -> Any:
        left, result = first(values), True
        for op, node in pairs:
            right = node(values)
            result = np.logical_and(result, op(left, right))
            left = right
        return result

    return predicate


def parse_constraint(text: str) -> Constraint:
    """Parse one constraint; raises ``ConstraintSyntaxError`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ConstraintSyntaxError("must be a non-empty string such as 'fast < slow'")
    parser = _Parser(text)
    predicate = parser.constraint()
    return Constraint(text.strip(), frozenset(parser.names), predicate)


def feasible(constraints: Iterable[Constraint], values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which of the encoded sets in ``values`` (``(P,)`` arrays) satisfy every constraint."""
    n = len(next(iter(values.values()))) if values else 0
    ok = np.ones(n, dtype=bool)
    for constraint in constraints:
        ok &= np.broadcast_to(np.asarray(constraint(values), dtype=bool), (n,))
    return ok
