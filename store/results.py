"""Result documents: written once per job by an idempotent upsert, read with optional sections."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store.db import dialect_insert
from store.models import Result, utcnow
from store.result_sections import KEY_ORDER, key_order, reorder, select_sections


def save_result(
    session: Session,
    job_id: str,
    *,
    document: dict[str, Any],
    sections: dict[str, Any],
    digest: str,
    dataset_version: str | None,
) -> None:
    """Insert the result of ``job_id`` or replace it: running the same job twice stores one row."""
    values = {
        "job_id": job_id,
        "document": document,
        "sections": {**sections, KEY_ORDER: key_order(document)},
        "digest": digest,
        "dataset_version": dataset_version,
        "created_at": utcnow(),
    }
    stmt = dialect_insert(session, Result.__table__).values(**values)
    update = {k: stmt.excluded[k] for k in ("document", "sections", "digest", "dataset_version")}
    session.execute(stmt.on_conflict_do_update(index_elements=["job_id"], set_=update))


def get_result(session: Session, job_id: str) -> Result | None:
    return session.get(Result, job_id)


def ordered_document(result: Result, include: dict[str, bool] | None = None) -> dict[str, Any]:
    """The stored document in the order the engine wrote it, less the sections not included."""
    document = select_sections(result.document, result.sections, include or {})
    return reorder(document, result.sections.get(KEY_ORDER))
