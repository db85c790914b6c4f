"""Write a strategy's rule into the fused CPU kernel: expression trees to numba source.

Input trees are duck-typed nodes with ``op`` and ``args`` (``engine.strategies.plan.Expr``):
leaves ``ind(name, lag)``, ``price(field, lag)``, ``param(name)``, ``const(value)``; inner
nodes comparisons, ``and``/``or``/``not`` and arithmetic. The output is the source of
``decide_row`` appended to ``accel.lanes_template``, imported through ``accel.jit`` (cached
on disk when a cache directory is configured). Nothing is evaluated per bar in Python.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from accel import jit

DECORATOR = '@njit(cache=CACHE, nogil=True, inline="always", error_model="numpy")'
PRICE_ROWS = {"open": 0, "high": 1, "low": 2, "close": 3, "valid": 4}
_SYMBOLS = {
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "and": "and",
    "or": "or",
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
}


@dataclass(frozen=True)
class LegCode:
    """One leg: +1/-1, its enter and leave trees, and the column of its gate parameter."""

    side: int
    enter: Any
    leave: Any
    gate: int | None


class _Writer:
    """Source lines computing each distinct subtree once per symbol and bar (the rule's
    leaves are shared by its events: ``fast.prev`` is read once, not four times)."""

    def __init__(self, indicators: Mapping[str, int], params: Mapping[str, int]) -> None:
        self.indicators, self.params = indicators, params
        self.lines: list[str] = []
        self.names: dict[str, str] = {}

    def value(self, node: Any) -> str:
        """A local name (or literal) holding ``node``'s value at lane column ``c``, bar ``t``."""
        key = repr(node)
        if key not in self.names:
            text = self._text(node)
            if node.op in ("const", "param"):
                return text
            self.names[key] = f"v{len(self.names)}"
            self.lines.append(f"{self.names[key]} = {text}")
        return self.names[key]

    def _text(self, node: Any) -> str:
        op, args = node.op, node.args
        if op == "ind":
            return _lagged(f"ind[r{self.indicators[args[0]]}, c, {{t}}]", args[1])
        if op == "price":
            cell = _lagged(f"bars[{PRICE_ROWS[args[0]]}, c, {{t}}]", args[1])
            return f"({cell} > 0.5)" if args[0] == "valid" else cell
        if op == "param":
            return f"p{self.params[args[0]]}"
        if op == "const":
            return repr(bool(args[0])) if isinstance(args[0], bool) else repr(float(args[0]))
        parts = [self.value(a) for a in args]
        if op == "not":
            return f"not {parts[0]}"
        if op == "neg":
            return f"-{parts[0]}"
        return f"{parts[0]} {_SYMBOLS[op]} {parts[1]}"

    def lane_constants(self) -> list[str]:
        """``lane_constants``: the lane's indicator rows ``r{k}`` and parameters ``p{j}``."""
        values = [f"rows[{k}]" for k in self.indicators.values()]
        values += [f"prm[{j}]" for j in self.params.values()]
        return [
            DECORATOR,
            "def lane_constants(rows, prm):",
            f"    return ({''.join(v + ', ' for v in values)})",
            "",
        ]

    def header(self) -> list[str]:
        """Unpack the lane's constants at the top of ``decide_row``."""
        names = [f"r{k}" for k in self.indicators.values()]
        names += [f"p{j}" for j in self.params.values()]
        return [f"    ({''.join(n + ', ' for n in names)}) = lane"] if names else []

    def body(self, indent: str) -> list[str]:
        return [indent + line for line in self.lines]


def _lagged(cell: str, lag: int) -> str:
    if not lag:
        return cell.format(t="t")
    return f"({cell.format(t=f't - {lag}')} if t >= {lag} else np.nan)"


def legs_rule(
    legs: Sequence[LegCode], indicators, params, fraction: float | None = None
) -> tuple[str, int]:
    """``decide_row`` for legs held from enter to leave events, sized ``state / width`` (or
    ``state * fraction`` when a fixed fraction is given)."""
    w = _Writer(indicators, params)
    events = [(w.value(leg.enter), w.value(leg.leave)) for leg in legs]
    update = []
    for i, (leg, (enter, leave)) in enumerate(zip(legs, events, strict=True)):
        gate = "" if leg.gate is None else f" and p{leg.gate} > 0"
        update += [
            f"        if {leave}:",
            f"            held[{i}, s] = False",
            f"        elif {enter}:",
            f"            held[{i}, s] = True",
            f"        if held[{i}, s]{gate}:",
            f"            state += {int(leg.side)}",
        ]
    lines = [
        *w.lane_constants(),
        DECORATOR,
        "def decide_row(ind, lane, bars, starts, t, col, held, raw):",
        *w.header(),
        "    changed = False",
        "    width = raw.shape[0]",
        "    for s in range(width):",
        "        c = col + s",
        "        state = 0",
        *w.body("        "),
        *update,
        "        weight = " + ("state / width" if fraction is None else f"state * {fraction!r}"),
        "        if weight != raw[s]:",
        "            raw[s] = weight",
        "            changed = True",
        "    return changed",
    ]
    return "\n".join(lines), max(1, len(legs))


def top_k_rule(score: Any, eligible: Any, k: int, schedule: int, indicators, params) -> str:
    """``decide_row`` that re-ranks the lane's symbols on the first bar of each period."""
    w = _Writer(indicators, params)
    score_name, eligible_name = w.value(score), w.value(eligible)
    return "\n".join(
        [
            *w.lane_constants(),
            DECORATOR,
            "def decide_row(ind, lane, bars, starts, t, col, held, raw):",
            *w.header(),
            f"    if not starts[int(p{schedule}), t]:",
            "        return False",
            "    width = raw.shape[0]",
            "    score, eligible = np.empty(width), np.empty(width, np.bool_)",
            "    for s in range(width):",
            "        c = col + s",
            *w.body("        "),
            f"        score[s] = {score_name}",
            f"        eligible[s] = {eligible_name}",
            f"    return lanes.top_k(score, eligible, min(p{k}, width), raw)",
        ]
    )


def weights_rule() -> str:
    """``decide_row`` that takes given target weights (the lane's indicator row) as they are."""
    return "\n".join(
        [
            DECORATOR,
            "def lane_constants(rows, prm):",
            "    return (rows[0],)",
            "",
            DECORATOR,
            "def decide_row(ind, lane, bars, starts, t, col, held, raw):",
            "    changed = False",
            "    for s in range(raw.shape[0]):",
            "        weight = ind[lane[0], col + s, t]",
            "        if weight != raw[s]:",
            "            raw[s] = weight",
            "            changed = True",
            "    return changed",
        ]
    )


def kernels(name: str, rule_source: str, n_state: int) -> ModuleType:
    """The template completed with ``rule_source``: a module with ``run_sweep``/``run_record``."""
    import accel.lanes_template as template
    from accel import costs, lanes

    source = inspect.getsource(template)
    source = source.replace(
        "CACHE = False\nN_STATE = 1\n", f"CACHE = {jit.caching()}\nN_STATE = {n_state}\n"
    )
    return jit.generated_module(name, f"{source}\n\n{rule_source}\n", depends=(lanes, costs))
