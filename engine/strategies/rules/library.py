"""The rules language's vocabulary: indicators, operators and price series, with arities.

One table per kind of name; the parser checks documents against it and ``GET /strategies``
publishes it. Every indicator is one of ``engine.strategies.plan.INDICATOR_KINDS`` (computed by
the same code as the built-ins' indicators) or a fixed expression over them (Bollinger bands).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.strategies.jax_signals import MAX_WINDOW


@dataclass(frozen=True)
class IndicatorDef:
    """``name(window[, multiplier])``: a series per symbol; ``kind`` is the plan's indicator."""

    name: str
    kind: str
    description: str
    multiplier: bool = False  # a second argument: a number or a parameter (Bollinger's k)

    @property
    def arity(self) -> int:
        return 2 if self.multiplier else 1

    def describe(self) -> dict[str, Any]:
        args = ["window"] + (["multiplier"] if self.multiplier else [])
        return {"name": self.name, "arguments": args, "description": self.description}


INDICATORS = {
    d.name: d
    for d in (
        IndicatorDef("sma", "sma", "Simple moving average of the close."),
        IndicatorDef("ema", "ema", "Exponential moving average of the close (alpha 2/(n+1), "
                     "seeded with the SMA of the first n closes, as TA-Lib)."),
        IndicatorDef("rsi", "rsi", "Wilder's RSI of the close, 0 to 100 (TA-Lib's seeding)."),
        IndicatorDef("zscore", "zscore", "(close - SMA) / population standard deviation."),
        IndicatorDef("stdev", "stdev", "Population standard deviation of the close."),
        IndicatorDef("highest", "highest", "Highest high of the last n bars (Donchian upper)."),
        IndicatorDef("lowest", "lowest", "Lowest low of the last n bars (Donchian lower)."),
        IndicatorDef("momentum", "momentum", "Rate of change: close / close n bars ago - 1."),
        IndicatorDef("roc", "momentum", "Same as momentum (rate of change)."),
        IndicatorDef("atr", "atr", "Wilder's average true range (TA-Lib's seeding)."),
        IndicatorDef("volume_sma", "volume_sma", "Average volume of the last n bars."),
        IndicatorDef("bollinger_upper", "sma", "SMA + multiplier x stdev over n bars.", True),
        IndicatorDef("bollinger_lower", "sma", "SMA - multiplier x stdev over n bars.", True),
    )
}  # fmt: skip

PRICES = ("open", "high", "low", "close", "volume")
"""Series a rule may name as a bare string (``volume`` is the bar's own volume)."""

COMPARISONS = {"gt": "gt", ">": "gt", "ge": "ge", ">=": "ge", "lt": "lt", "<": "lt",
               "le": "le", "<=": "le"}  # fmt: skip
CROSSES = ("crosses_above", "crosses_below")
LOGIC = ("and", "or", "not")
ARITHMETIC = {"add": "add", "+": "add", "sub": "sub", "-": "sub", "mul": "mul", "*": "mul",
              "div": "div", "/": "div"}  # fmt: skip
LAG = "prev"

OPERATORS = {
    **{name: "(a, b): a condition comparing two numbers" for name in COMPARISONS},
    "crosses_above": "(a, b): a[t-1] < b[t-1] and a[t] > b[t]",
    "crosses_below": "(a, b): a[t-1] > b[t-1] and a[t] < b[t]",
    "and": "(c1, c2, ...): every condition holds",
    "or": "(c1, c2, ...): any condition holds",
    "not": "(c): the condition does not hold",
    **{name: "(a, b): arithmetic on two numbers" for name in ARITHMETIC},
    LAG: "(x): the series one bar earlier (indicators and prices; once)",
}


def describe() -> dict[str, Any]:
    """The vocabulary as ``GET /strategies`` lists it."""
    return {
        "indicators": [d.describe() for d in INDICATORS.values()],
        "prices": list(PRICES),
        "operators": OPERATORS,
        "max_window": MAX_WINDOW,
    }


def document_schema() -> dict[str, Any]:
    """The OpenAPI schema of a rules document (the parser checks the expressions themselves)."""
    expression = {"description": 'a number, "close" (a price), "$name" (a parameter) or a '
                  'one-key object {"indicator or operator": [arguments]}'}  # fmt: skip
    side = {
        "type": "object",
        "properties": {"entry": expression, "exit": expression},
        "required": ["entry"],
        "additionalProperties": False,
    }
    parameter = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["int", "float"]},
            "default": {"type": "number"},
            "minimum": {"type": "number"},
            "maximum": {"type": "number"},
            "description": {"type": "string", "maxLength": 500},
        },
        "required": ["type", "default", "minimum", "maximum"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "nullable": True,
        "properties": {
            "description": {"type": "string", "maxLength": 500},
            "parameters": {"type": "object", "additionalProperties": parameter},
            "long": side,
            "short": side,
            "sizing": {
                "type": "object",
                "properties": {
                    "method": {"type": "string", "enum": ["equal_weight", "fixed_fraction"]},
                    "fraction": {"type": "number", "minimum": 0, "maximum": 1,
                                 "exclusiveMinimum": True},
                },
                "required": ["method"],
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }  # fmt: skip
