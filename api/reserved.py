"""Routes of the seed that later issues implement: reserved now, answering 501 with a pointer."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.errors import ErrorSchema, fail

blp = Blueprint("reserved", __name__, description="Reserved for later issues (501 for now)")

PLANNED = {
    "optimization": "parameter optimization arrives with the optimization issue (issue 5)",
    "stress": "stress testing arrives with the stress-test and Monte Carlo issue (issue 6)",
}


@blp.route("/optimization/parameters", methods=["POST"])
@blp.alt_response(501, schema=ErrorSchema)
def optimize_parameters() -> None:
    """Strategy parameter optimization (not implemented yet)."""
    fail(501, f"not implemented: {PLANNED['optimization']}")


@blp.route("/optimization/<string:optimization_id>", methods=["GET"])
@blp.alt_response(501, schema=ErrorSchema)
def get_optimization(optimization_id: str) -> None:
    """Optimization results (not implemented yet)."""
    fail(501, f"not implemented: {PLANNED['optimization']}")


@blp.route("/stress-test", methods=["POST"])
@blp.alt_response(501, schema=ErrorSchema)
def stress_test() -> None:
    """Risk scenario stress testing (not implemented yet)."""
    fail(501, f"not implemented: {PLANNED['stress']}")
