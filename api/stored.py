"""Reading a finished job's stored result for reports and exports: one 404 and one 409 rule.

A result exists once a job completed (an optimization cancelled after some trials were scored
keeps its best so far); anything else is a 409 that says what the job is doing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.auth import owner_scope
from api.context import service
from api.errors import fail
from store import jobs
from store.results import get_result, ordered_document
from workers.kinds import kind_named


@dataclass(frozen=True)
class StoredJob:
    """A job's identity, request and result document, read in one session."""

    id: str
    kind: str
    status: str
    name: str | None
    spec: dict[str, Any]
    summary: dict[str, Any]
    document: dict[str, Any]


def stored_job(kind: str, job_id: str, include: dict[str, bool] | None = None) -> StoredJob:
    """The job of ``kind`` with its result document (404 unknown, 409 no result yet)."""
    label = kind_named(kind).label
    with service().reads() as session:
        job = jobs.get_job(session, job_id, owner_scope())
        if job is None or job.kind != kind:
            fail(404, f"no {label} with id {job_id!r}")
        result = get_result(session, job_id)
        if result is None:
            fail(409, f"{label} {job_id} is {job.status}; its result exists once it completes")
        document = ordered_document(result, include)
        summary = dict(job.summary or {})
        return StoredJob(job.id, job.kind, job.status, job.name, dict(job.spec), summary, document)
