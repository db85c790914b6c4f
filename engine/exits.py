"""Exit orders: stop-loss, take-profit and trailing stop on every position, for any strategy.

A request's ``exits`` names up to three kinds, each as a fraction of the price (``0.05``, or
``{"fraction": 0.05}``) or as a multiple of Wilder's average true range
(``{"atr": 2, "window": 14}``). When a position opens (from flat or on a change of side) its
levels are fixed from the entry price ``e`` (the fill price before slippage): a long's stop is
``e (1 - f) - a`` and its target ``e (1 + f) + a``, a short's the mirror images, where ``f`` is
the fraction (0 for an ATR kind) and ``a`` the ATR multiple times the ATR of the bar that
decided the entry (0 for a fraction kind). The trailing stop trails the best price since the
entry ``p`` (highest high of a long, lowest low of a short): ``p (1 - f) - a`` or
``p (1 + f) + a``. The semantics of triggers and fills are in docs/engine.md ("Exit orders");
the kernels implement them from the arrays ``exit_inputs`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from engine.numbers import finite
from engine.spec_fields import FieldChecker
from engine.strategies import Bars
from engine.strategies import indicators as ind

EXIT_KINDS = ("stop_loss", "take_profit", "trailing_stop")
FRACTION_HIGH = {"stop_loss": 1.0, "take_profit": 100.0, "trailing_stop": 1.0}
ATR_HIGH = 100.0
MAX_WINDOW = 1000
DEFAULT_WINDOW = 14


class ExitInputs(NamedTuple):
    """What the kernels read: per kind (in ``EXIT_KINDS`` order) a fraction ``(3,)`` (``inf``
    for a kind not asked for, 0 for an ATR kind) and the ATR distance ``(T, 3, S)`` of a
    position opened at bar t (0 for a fraction kind, NaN before the ATR exists: that kind
    then stays off for the position)."""

    fraction: Any
    atr: Any


def read_exits(check: FieldChecker, field: str) -> dict[str, dict[str, float]]:
    """The ``exits`` field as ``{kind: {"fraction": f} | {"atr": k, "window": n}}``."""
    value = check.mapping(field)
    out: dict[str, dict[str, float]] = {}
    for kind, rule in value.items():
        name = f"{field}.{kind}"
        if kind not in EXIT_KINDS:
            check.error(name, f"unknown exit; valid exits are {list(EXIT_KINDS)}")
        elif rule is not None:
            parsed = _read_rule(check, name, kind, rule)
            if parsed is not None:
                out[kind] = parsed
    return out


def _read_rule(check: FieldChecker, name: str, kind: str, rule: Any) -> dict | None:
    if finite(rule):
        rule = {"fraction": rule}
    if not isinstance(rule, Mapping) or len({"fraction", "atr"} & set(rule)) != 1:
        check.error(name, 'must be a fraction such as 0.05, {"fraction": 0.05} or '
                    '{"atr": 2, "window": 14}')  # fmt: skip
        return None
    unknown = sorted(set(rule) - {"fraction", "atr", "window"})
    if unknown or ("fraction" in rule and "window" in rule):
        check.error(name, f"has unknown keys {unknown or ['window']}")
        return None
    if "fraction" in rule:
        high = FRACTION_HIGH[kind]
        if not finite(rule["fraction"]) or not 0 < rule["fraction"] < high:
            check.error(f"{name}.fraction", f"must be a number between 0 and {high} (exclusive)")
            return None
        return {"fraction": float(rule["fraction"])}
    window = rule.get("window", DEFAULT_WINDOW)
    if not finite(rule["atr"]) or not 0 < rule["atr"] <= ATR_HIGH:
        check.error(f"{name}.atr", f"must be a multiple of the ATR above 0 and at most {ATR_HIGH}")
        return None
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
        check.error(f"{name}.window", f"must be a whole number of bars from 1 to {MAX_WINDOW}")
        return None
    return {"atr": float(rule["atr"]), "window": window}


def json_schema() -> dict[str, Any]:
    """The OpenAPI schema of ``exits``."""
    rule = {
        "oneOf": [
            {"type": "number", "description": "distance as a fraction of the price"},
            {
                "type": "object",
                "properties": {"fraction": {"type": "number", "exclusiveMinimum": 0}},
                "required": ["fraction"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "atr": {"type": "number", "exclusiveMinimum": 0, "maximum": ATR_HIGH},
                    "window": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_WINDOW,
                        "default": DEFAULT_WINDOW,
                    },
                },  # fmt: skip
                "required": ["atr"],
                "additionalProperties": False,
            },
        ],
        "nullable": True,
    }
    return {
        "type": "object",
        "properties": {kind: rule for kind in EXIT_KINDS},
        "additionalProperties": False,
        "example": {"stop_loss": 0.05, "take_profit": 0.1, "trailing_stop": {"atr": 3}},
    }


def exit_inputs(
    exits: Mapping[str, Mapping[str, float]] | None, bars: Bars, fill: str
) -> ExitInputs | None:
    """The kernels' view of ``exits`` (numpy float64; None when it asks for none). The ATR is
    the indicator library's (a rules document's ``atr(n)``); that of a position opened at bar
    t is the ATR of the bar that decided it: t - 1 for ``next_open`` fills, t for ``close``."""
    if not exits:
        return None
    steps, width = bars.close.shape
    fraction = np.full(len(EXIT_KINDS), np.inf)
    atr = np.zeros((steps, len(EXIT_KINDS), width))
    for j, kind in enumerate(EXIT_KINDS):
        rule = exits.get(kind)
        if rule is None:
            continue
        if "fraction" in rule:
            fraction[j] = rule["fraction"]
            continue
        fraction[j] = 0.0
        window = jnp.array([int(rule["window"])])
        wilder = ind.average_true_range(bars.high, bars.low, bars.close, window)[0]
        values = rule["atr"] * np.asarray(wilder, float)
        if fill == "next_open":
            values = np.concatenate([np.full((1, width), np.nan), values[:-1]])
        atr[:, j] = values
    return ExitInputs(fraction, atr)
