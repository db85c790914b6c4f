"""Schemathesis over the served OpenAPI document: generated requests to every operation, on real
PostgreSQL and Redis, must never get a 5xx, and every answer must match the document (status
code, content type, headers and body schema). No worker runs: accepted jobs just queue.

Bounded for CI: ``FUZZ_EXAMPLES`` examples per operation (default 25, about a minute).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.integration.conftest import Service

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzzed(pg_url, redis_dbs, tmp_path_factory):
    service = Service(pg_url, redis_dbs[1], tmp_path_factory.mktemp("fuzz"))
    yield service
    service.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    return schemathesis.from_wsgi("/openapi.json", fuzzed.app)


schema = schemathesis.from_pytest_fixture("api_schema")


class RawBody:
    """Uploads (bars, signal sets) as whatever bytes the generated value prints as: the API
    must refuse what is not a table with a 4xx, never a 5xx."""

    def as_requests(self, context, value):
        return {"data": str(value).encode()}

    def as_werkzeug(self, context, value):
        return {"data": str(value).encode()}


for _media_type in ("text/csv", "application/vnd.apache.parquet"):
    schemathesis.serializer(_media_type)(RawBody)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented(case, fuzzed):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzed.admin_key}"})
