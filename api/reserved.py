"""Routes of the seed that later issues implement: reserved now, answering 501 with a pointer."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.errors import ErrorSchema, fail

blp = Blueprint("reserved", __name__, description="Reserved for later issues (501 for now)")

PLANNED = {
    "stress": "stress testing arrives with the stress-test and Monte Carlo issue (issue 6)",
}


@blp.route("/stress-test", methods=["POST"])
@blp.alt_response(501, schema=ErrorSchema)
def stress_test() -> None:
    """Risk scenario stress testing (not implemented yet)."""
    fail(501, f"not implemented: {PLANNED['stress']}")
