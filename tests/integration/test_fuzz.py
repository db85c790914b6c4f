"""Schemathesis over the served OpenAPI document: generated requests to every operation, on real
PostgreSQL and Redis, must never get a 5xx, and every answer must match the document (status
code, content type, headers and body schema). No worker runs: accepted jobs just queue.

Stateless: every operation on its own. Stateful: schemathesis's state machine over the
document's links (``api.openapi.LINKS``): each run submits a backtest, an optimization, a
stress test and a signal set the API accepts, then follows their answers' links with the ids
they carry (status, results, report, tables, trials, heatmap, cancel, ...), the other
parameters generated.

Bounded for CI: ``FUZZ_EXAMPLES`` examples per operation (default 25, about a minute);
``FUZZ_STEPS`` calls for the stateful run (default 800, under a minute: runs of ``STEPS_PER_RUN``;
0 skips it).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import Bundle, initialize

from tests.integration.conftest import Service, spec
from tests.integration.test_data_api import fresh, import_goog
from tests.integration.test_optimization_flow import body as optimization_body
from workers.kinds import KINDS

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STEPS = int(os.environ.get("FUZZ_STEPS", "800"))
STEPS_PER_RUN = 10  # the four seeds, then six linked calls
STRESS_BODY = {
    "portfolio": {"SPY": 0.6, "TLT": 0.4},
    "data_sources": ["synthetic"],
    "scenarios": ["2020_covid_crash"],
    "monte_carlo_iterations": 1000,
    "horizon_days": 21,
}


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
    case.call_and_validate(headers=keyed(fuzzed))


def keyed(service: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.admin_key}"}


@pytest.fixture(scope="module")
def signal_symbol(fuzzed) -> str:
    """A fresh symbol with stored daily bars: a signal set must trade stored bars."""
    symbol = fresh()
    import_goog(fuzzed.api, symbol)
    return symbol


def test_linked_operations_answer_as_documented(api_schema, fuzzed, signal_symbol):
    if STEPS < STEPS_PER_RUN:
        pytest.skip(f"FUZZ_STEPS={STEPS}: fewer than one run of {STEPS_PER_RUN}")
    followed: Counter[tuple[str, str]] = Counter()
    workflow = linked_workflow(api_schema, fuzzed, signal_symbol, followed)
    workflow.run(
        settings=settings(
            max_examples=STEPS // STEPS_PER_RUN,
            stateful_step_count=STEPS_PER_RUN,
            deadline=None,
            phases=[Phase.generate],  # as schemathesis's own stateful runs: no shrinking
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    sources = {source for source, _ in followed}
    assert sources == {
        "POST /backtests", "POST /optimization/parameters", "POST /stress-test",
        "POST /data/signals",
    }, followed  # fmt: skip


SEEDED = Bundle("seeded")  # a placeholder: schemathesis files each answer by its status's links


def seed(name: str, path: str, body: Any, media_type: str = "application/json") -> Any:
    """A rule run once at the start of every run: ``POST path`` with a body the API accepts, so
    there are fresh ids to follow (generated bodies are nearly all refused, and a refusal has
    no links)."""

    def post(self: Any) -> Any:
        operation = self.schema[path]["POST"]
        case = operation.make_case(body=body, media_type=media_type, headers={}, cookies={})
        result = self.step(case)
        answer = result.response.json
        assert result.response.status_code in (201, 202), answer  # the seed must be accepted
        self.jobs.extend(answer[k.id_field] for k in KINDS.values() if k.id_field in answer)
        return result

    post.__name__ = name
    return initialize(target=SEEDED)(post)


def linked_workflow(
    schema: Any, service: Service, symbol: str, followed: Counter[tuple[str, str]]
) -> Any:
    """The state machine of ``schema``'s links, seeded, sending the admin key; it counts the
    links it follows in ``followed`` (source, target) and checks each took its source's id."""
    signals = f"date,symbol,weight\n2010-01-04,{symbol},0.5\n2010-06-01,{symbol},0\n"

    class LinkedWorkflow(schema.as_state_machine()):
        seed_backtest = seed("seed_backtest", "/backtests", spec(backtest_name="fuzz seed"))
        seed_optimization = seed(
            "seed_optimization", "/optimization/parameters", optimization_body()
        )
        seed_stress_test = seed("seed_stress_test", "/stress-test", STRESS_BODY)
        seed_signal_set = seed("seed_signal_set", "/data/signals", signals, "text/csv")

        def setup(self) -> None:
            self.jobs: list[str] = []

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": keyed(service)}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = ()) -> None:
            # as call_and_validate does: the key is then known as explicit, so ignored_auth
            # checks that the answer without it, or with a wrong one, is a 401
            case.validate_response(
                response,
                headers=keyed(service),
                additional_checks=additional_checks,
                transport_kwargs=self._transport_kwargs,
            )

        def after_call(self, response: Any, case: Any) -> None:
            if case.source is None:
                return
            source = case.source.case.operation.verbose_name
            ids = {v for v in case.source.response.json.values() if isinstance(v, str)}
            assert ids & set(case.path_parameters.values()), (source, case.path_parameters)
            followed[(source, case.operation.verbose_name)] += 1

        def teardown(self) -> None:
            for job_id in self.jobs:  # queued jobs count against the owner's quota
                service.api.post(f"/jobs/{job_id}/cancel")

    return LinkedWorkflow
