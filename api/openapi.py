"""What every operation of the OpenAPI document shares: the keys it accepts and the errors any
route may answer (flask-smorest's catch-all ``default`` response is off, so a status a route
answers and the document does not name is a finding for schemathesis); and the links from an
answer that carries a job's (or a signal set's) id to the operations that take that id, for
clients and for schemathesis's stateful run (``tests/integration/test_fuzz.py``)."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

from api.auth import COOKIE
from workers.kinds import BACKTEST, OPTIMIZATION, STRESS_TEST

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API key"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
}
KEYED: list[dict[str, list[str]]] = [{name: []} for name in SCHEMES]
OPEN_PATHS = frozenset({"/health", "/session"})  # no key needed (/health shows admins more)
BODY_METHODS = frozenset({"post", "put", "patch", "delete"})


def common_responses(path: str, method: str) -> dict[str, str]:
    """Status -> component response of what this operation may answer besides its own."""
    out = {"400": "BAD_REQUEST", "429": "TOO_MANY_REQUESTS", "503": "SERVICE_UNAVAILABLE"}
    if path not in OPEN_PATHS:
        out["401"] = "UNAUTHORIZED"
    if method in BODY_METHODS:
        out |= {"403": "FORBIDDEN", "413": HTTPStatus(413).name}
    return out


class CommonResponses(BasePlugin):
    """Adds the shared responses and the security requirement to every operation."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for status, name in common_responses(path or "", method).items():
                responses.setdefault(status, name)
            if path in OPEN_PATHS:
                operation["security"] = []


def security_schemes(spec: APISpec) -> None:
    for name, scheme in SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.options["security"] = KEYED


# What a client can do next with the id an answer carries: (method, path, status) of the answer
# -> (the body field holding the id, {link name: "METHOD /path" of an operation}). The id fills
# the operation's first path parameter. Names follow the answers' own ``links`` objects.
BACKTEST_NEXT = {
    "status": "GET /backtests/{execution_id}",
    "results": "GET /backtests/{execution_id}/results",
    "report": "GET /backtests/{execution_id}/report",
    "table": "GET /backtests/{execution_id}/{table}",
    "cancel": "POST /backtests/{execution_id}/cancel",
    "cancel_job": "POST /jobs/{job_id}/cancel",
}
OPTIMIZATION_NEXT = {
    "status": "GET /optimization/{optimization_id}",
    "trials": "GET /optimization/{optimization_id}/trials",
    "heatmap": "GET /optimization/{optimization_id}/heatmap",
    "report": "GET /optimization/{optimization_id}/report",
    "cancel": "POST /optimization/{optimization_id}/cancel",
    "cancel_job": "POST /jobs/{job_id}/cancel",
}
STRESS_NEXT = {
    "status": "GET /stress-test/{stress_test_id}",
    "report": "GET /stress-test/{stress_test_id}/report",
    "cancel_job": "POST /jobs/{job_id}/cancel",
}
LINKS: dict[tuple[str, str, str], tuple[str, dict[str, str]]] = {
    ("post", "/backtests", "202"): (BACKTEST.id_field, BACKTEST_NEXT),
    ("post", "/optimization/parameters", "202"): (OPTIMIZATION.id_field, OPTIMIZATION_NEXT),
    ("post", "/stress-test", "202"): (STRESS_TEST.id_field, STRESS_NEXT),
    ("post", "/data/signals", "201"): (
        "signal_set_id",
        {"signal_set": "GET /data/signals/{signal_set_id}"},
    ),
}
PATH_PARAMETER = re.compile(r"{([^}]+)}")


def operation_ref(target: str) -> str:
    """``GET /backtests/{execution_id}`` -> ``#/paths/~1backtests~1{execution_id}/get``."""
    method, path = target.split(" ", 1)
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()


def link(target: str, field: str) -> dict[str, Any]:
    """An OpenAPI link to ``target`` whose first path parameter is the answer's ``field``."""
    parameter = PATH_PARAMETER.search(target)
    if parameter is None:
        raise ValueError(f"{target} takes no id")
    return {
        "operationRef": operation_ref(target),
        "parameters": {parameter[1]: f"$response.body#/{field}"},
        "description": f"{target}, with this answer's {field}",
    }


def id_schema(field: str) -> dict[str, Any]:
    """What an answer documented without a body schema at least carries: the id its links read
    (so a client can rely on it, and schemathesis checks it is there)."""
    return {
        "type": "object",
        "required": [field],
        "properties": {field: {"type": "string", "description": "the id its links take"}},
    }


class ResponseLinks(BasePlugin):
    """Adds the ``links`` of ``LINKS`` to the answers they start from (and, to an answer with no
    documented body, the id field they read)."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            for status, response in operation.get("responses", {}).items():
                found = LINKS.get((method, path or "", str(status)))
                if found is None:
                    continue
                if not isinstance(response, dict):  # a shared component: not this answer's own
                    raise TypeError(f"{method} {path} {status}: links need an inline response")
                field, targets = found
                response["links"] = {name: link(t, field) for name, t in targets.items()}
                response.setdefault("content", {"application/json": {"schema": id_schema(field)}})
