"""``/strategies``: every strategy a backtest may name, with its parameter schema.

Read from the engine's registry (``engine.strategies``): the id, the version, the aliases that
resolve to it, each parameter's type, default, range and meaning, and the rules between them;
the package (and its version) of strategies installed from packages, ``target_weights`` (which
``requires`` a ``signal_set_id``), every installed package (with its error if it did not
load), and the vocabulary of rules documents (``strategy_id: "rules"``).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.errors import ErrorSchema, fail

blp = Blueprint("strategies", __name__, description="Strategies and their parameter schemas")


class ParameterSchema(Schema):
    type = fields.String(metadata={"enum": ["int", "float", "bool", "choice"]})
    default = fields.Raw()
    minimum = fields.Float()
    maximum = fields.Float()
    choices = fields.List(fields.String())
    description = fields.String()


class StrategySchema(Schema):
    strategy_id = fields.String(metadata={"example": "momentum_factor"})
    version = fields.String(metadata={"example": "2.1"})
    description = fields.String()
    aliases = fields.List(fields.String(), metadata={"example": ["momentum_factor_v2.1"]})
    parameters = fields.Dict(keys=fields.String(), values=fields.Nested(ParameterSchema))
    constraints = fields.List(fields.String(), metadata={"description": "rules between params"})
    package = fields.String(allow_none=True, metadata={"description": "its strategy package"})
    package_version = fields.String(allow_none=True)
    requires = fields.List(
        fields.String(),
        metadata={"description": "request fields it needs besides strategy_parameters",
                  "example": ["signal_set_id"]},
    )  # fmt: skip


class PackageSchema(Schema):
    name = fields.String(metadata={"example": "nautilus-example-strategies"})
    version = fields.String(metadata={"example": "0.1.0"})
    entry_point = fields.String()
    strategies = fields.List(fields.String())
    error = fields.String(allow_none=True, metadata={"description": "why it did not load"})


class IndicatorSchema(Schema):
    name = fields.String(metadata={"example": "sma"})
    arguments = fields.List(fields.String(), metadata={"example": ["window"]})
    description = fields.String()


class RulesLibrarySchema(Schema):
    indicators = fields.List(fields.Nested(IndicatorSchema))
    prices = fields.List(fields.String())
    operators = fields.Dict(keys=fields.String(), values=fields.String())
    max_window = fields.Integer()


class StrategyListSchema(Schema):
    strategies = fields.List(fields.Nested(StrategySchema))
    rules = fields.Nested(
        RulesLibrarySchema,
        metadata={"description": 'what a rules document (strategy_id "rules") may use'},
    )
    packages = fields.List(fields.Nested(PackageSchema))


@blp.route("/strategies", methods=["GET"])
@blp.response(200, StrategyListSchema)
def list_strategies() -> dict[str, Any]:
    """Every registered strategy with its parameter schema, version and aliases; the rules
    documents' indicator library; the installed strategy packages."""
    from engine import signals
    from engine.strategies import get_strategy, strategy_ids
    from engine.strategies.registry import packages
    from engine.strategies.rules import describe_library

    return {
        "strategies": [get_strategy(sid).describe() for sid in strategy_ids()]
        + [signals.describe()],
        "rules": describe_library(),
        "packages": [package.describe() for package in packages()],
    }


@blp.route("/strategies/<string:strategy_id>", methods=["GET"])
@blp.response(200, StrategySchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_strategy_schema(strategy_id: str) -> dict[str, Any]:
    """One strategy, by id or alias."""
    from engine import signals
    from engine.errors import SpecError
    from engine.strategies import get_strategy

    if strategy_id == signals.TARGET_WEIGHTS:
        return signals.describe()
    try:
        return get_strategy(strategy_id).describe()
    except SpecError as exc:
        fail(404, str(exc).removeprefix("strategy_id: "))
