"""What every operation of the OpenAPI document shares: the keys it accepts and the errors any
route may answer (flask-smorest's catch-all ``default`` response is off, so a status a route
answers and the document does not name is a finding for schemathesis)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

from api.auth import COOKIE

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
