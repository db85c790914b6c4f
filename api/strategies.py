"""``/strategies``: every strategy a backtest may name, with its parameter schema.

Read from the engine's registry (``engine.strategies``): the id, the version, the aliases that
resolve to it, each parameter's type, default, range and meaning, and the rules between them.
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


class StrategyListSchema(Schema):
    strategies = fields.List(fields.Nested(StrategySchema))


@blp.route("/strategies", methods=["GET"])
@blp.response(200, StrategyListSchema)
def list_strategies() -> dict[str, Any]:
    """Every registered strategy with its parameter schema, version and aliases."""
    from engine.strategies import get_strategy, strategy_ids

    return {"strategies": [get_strategy(sid).describe() for sid in strategy_ids()]}


@blp.route("/strategies/<string:strategy_id>", methods=["GET"])
@blp.response(200, StrategySchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_strategy_schema(strategy_id: str) -> dict[str, Any]:
    """One strategy, by id or alias."""
    from engine.errors import SpecError
    from engine.strategies import get_strategy

    try:
        return get_strategy(strategy_id).describe()
    except SpecError as exc:
        fail(404, str(exc).removeprefix("strategy_id: "))
