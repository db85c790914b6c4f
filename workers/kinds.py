"""Job kinds: one description per kind, read by ids, routing, dispatch, events and the API.

A kind says how its jobs are named (id prefix, URL), where they run (workload, the task that
starts them, whether that task is bookkeeping on ``control``), how subscribers hear about
them (event type per stage), and which engine request type reads their bodies. Adding a kind
is one record here plus its request type and compute task (docs/service.md shows the diff).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ulid import ULID

STARTED, PROGRESS, COMPLETED, FAILED, CANCELLED = (
    "started",
    "progress",
    "completed",
    "failed",
    "cancelled",
)
STAGES = (STARTED, PROGRESS, COMPLETED, FAILED, CANCELLED)
DURABLE_STAGES = frozenset({STARTED, COMPLETED, FAILED, CANCELLED})
"""Stages that also go to the durable stream (progress is pub/sub only)."""
ENDINGS = frozenset({COMPLETED, FAILED, CANCELLED})


@dataclass(frozen=True)
class JobKind:
    """Everything the service needs to know about one kind of job, in one place."""

    name: str  # stored in ``jobs.kind``
    label: str  # how messages name it ("stress test")
    prefix: str  # id prefix: ``<prefix>_<ULID>``
    path: str  # the collection URL; a job lives at ``<path>/<id>``
    id_field: str  # the response field that carries the id
    results_suffix: str  # where results are read, after the job's URL ("" for the job's own)
    workload: str  # the queue family: ``<workload>.<pool>``
    task: str  # the Celery task that starts a job
    task_module: str  # the module that registers it (and the kind's other tasks)
    starts_on_control: bool  # the starting task is bookkeeping (its work goes to the job's queue)
    event_types: Mapping[str, str]  # stage -> event type
    request_parser: str  # ``module:function`` that reads a request body (see engine.requests)
    request_schema: str  # ``module:function`` that gives the body's JSON schema (for OpenAPI)
    schema_name: str  # the OpenAPI component of the request body

    @property
    def staged(self) -> bool:
        """One event type for every stage, told apart by ``data.stage``."""
        return len(set(self.event_types.values())) == 1

    def new_id(self) -> str:
        """A new id for a job of this kind, e.g. ``bt_01JD0X3V4S9M2C7QK3Y1T8F6ZP``."""
        return f"{self.prefix}_{ULID()}"

    def url(self, job_id: str) -> str:
        return f"{self.path}/{job_id}"

    def results_url(self, job_id: str) -> str:
        return self.url(job_id) + self.results_suffix

    def event(self, stage: str, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The event type and data that tell subscribers a job of this kind reached ``stage``."""
        if self.staged:
            return self.event_types[stage], {"stage": stage, **data}
        return self.event_types[stage], dict(data)

    def parse_request(self) -> Any:
        """The engine function that validates this kind's request bodies (imported lazily:
        engine modules load JAX, which API and worker main processes never import)."""
        return _imported(self.request_parser)

    def openapi_schema(self) -> dict[str, Any]:
        """The JSON schema of a request body, made from the fields its parser reads."""
        return _imported(self.request_schema)()

    @property
    def schema_ref(self) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{self.schema_name}"}


def _imported(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _staged(event_type: str) -> Mapping[str, str]:
    return MappingProxyType(dict.fromkeys(STAGES, event_type))


BACKTEST = JobKind(
    name="backtest",
    label="backtest",
    prefix="bt",
    path="/backtests",
    id_field="execution_id",
    results_suffix="/results",
    workload="backtest",
    task="nautilus.backtest.run",
    task_module="tasks.backtest",
    starts_on_control=False,
    event_types=MappingProxyType(
        {
            STARTED: "backtest_start",
            PROGRESS: "backtest_progress",
            COMPLETED: "backtest_complete",
            FAILED: "backtest_failed",
            CANCELLED: "backtest_cancelled",
        }
    ),
    request_parser="engine.spec:parse_spec",
    request_schema="engine.spec:openapi_schema",
    schema_name="BacktestRequest",
)
OPTIMIZATION = JobKind(
    name="optimization",
    label="optimization",
    prefix="opt",
    path="/optimization",
    id_field="optimization_id",
    results_suffix="",
    workload="optimize",
    task="nautilus.optimize.plan",
    task_module="tasks.optimize",
    starts_on_control=True,
    event_types=_staged("parameter_optimization"),
    request_parser="engine.optimize:parse_optimization_request",
    request_schema="engine.optimize.request:openapi_schema",
    schema_name="OptimizationRequest",
)
STRESS_TEST = JobKind(
    name="stress_test",
    label="stress test",
    prefix="st",
    path="/stress-test",
    id_field="stress_test_id",
    results_suffix="",
    workload="montecarlo",
    task="nautilus.stress.run",
    task_module="tasks.stress",
    starts_on_control=False,
    event_types=_staged("stress_test_result"),
    request_parser="engine.stress:parse_stress_request",
    request_schema="engine.stress:openapi_schema",
    schema_name="StressTestRequest",
)
KINDS: Mapping[str, JobKind] = MappingProxyType(
    {kind.name: kind for kind in (BACKTEST, OPTIMIZATION, STRESS_TEST)}
)
WORKLOADS = tuple(dict.fromkeys(kind.workload for kind in KINDS.values()))


def kind_named(name: str) -> JobKind:
    return KINDS[name]


def kind_of_id(job_id: str) -> JobKind | None:
    """The kind whose id shape ``job_id`` has (prefix and a valid ULID), or None."""
    prefix, sep, rest = job_id.partition("_")
    kind = next((k for k in KINDS.values() if k.prefix == prefix), None)
    if kind is None or not sep or len(rest) != 26:
        return None
    try:
        ULID.from_str(rest)
    except ValueError:
        return None
    return kind


def terminal(event: Mapping[str, Any]) -> bool:
    """Whether an event envelope reports that its job ended."""
    kind = KINDS.get(event.get("kind", ""))
    if kind is None:
        return False
    data = event.get("data") or {}
    return any(
        kind.event_types[stage] == event.get("type")
        and (not kind.staged or data.get("stage") == stage)
        for stage in ENDINGS
    )
