"""The outbox relay: lifecycle events recorded with their state change, then sent to Redis.

``record`` writes the event in the caller's transaction (``store/outbox.py``); after the commit,
``relay`` sends it to pub/sub and the stream and deletes its row. When Redis is down, or the
process dies between commit and relay, the row stays, and the reconciler's ``sweep`` (every
``NAUTILUS_RECONCILE_INTERVAL`` seconds) sends it later: at least once, with the event's own id,
which consumers deduplicate on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from store import outbox
from store.db import transaction
from store.models import utcnow
from workers.events import EventPublisher
from workers.kinds import DURABLE_STAGES, JobKind

log = logging.getLogger(__name__)

SWEEP_AFTER_S = 2.0
"""The sweep leaves younger rows to the process that recorded them (it relays them itself)."""


class Outbox:
    """Durable events of one process: recorded in transactions, relayed after commit."""

    def __init__(self, sessions: sessionmaker[Session], publisher: EventPublisher) -> None:
        self._sessions = sessions
        self._publisher = publisher

    def record(
        self, session: Session, kind: JobKind, stage: str, job_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Write the event telling that ``job_id`` reached ``stage`` in ``session``'s
        transaction; relay it once that transaction committed."""
        assert stage in DURABLE_STAGES, stage
        event = self._publisher.build(kind, stage, job_id, data)
        outbox.add(session, event["id"], job_id, json.dumps(event, separators=(",", ":")))
        return event

    def relay(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Send committed events and forget them; how many went. Failures are logged: the rows
        stay for the sweep, so the job's state never depends on Redis."""
        if not events:
            return 0
        try:
            self._publisher.send(events, durable=True)
        except redis.RedisError as exc:
            log.warning("events not relayed yet (%d, the sweep retries): %s", len(events), exc)
            return 0
        try:
            with transaction(self._sessions) as session:
                outbox.remove(session, [e["id"] for e in events])
        except SQLAlchemyError as exc:  # sent twice later, same ids: consumers dedupe
            log.warning("relayed events not forgotten (%d): %s", len(events), exc)
        return len(events)

    def sweep(self, limit: int = 500) -> int:
        """Relay events still in the outbox (older than ``SWEEP_AFTER_S``); how many went."""
        before = utcnow() - timedelta(seconds=SWEEP_AFTER_S)
        with transaction(self._sessions) as session:
            bodies = outbox.pending(session, before, limit)
        return self.relay([json.loads(body) for body in bodies])
