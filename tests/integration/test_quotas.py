"""Per-owner quotas that need workers: an owner's running jobs (the claim waits its turn)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from store.db import transaction
from store.usage import stored_bytes
from tests.integration.conftest import accepted_backtest, spec

pytestmark = pytest.mark.integration
DONE = ("completed", "failed", "cancelled")


def owner() -> str:
    return f"quota-{uuid.uuid4().hex[:8]}"


def submit(client, body: dict) -> str:
    return accepted_backtest(client, body)["execution_id"]


def test_an_owner_at_its_running_quota_waits_without_blocking_another(deploy, wait_for):
    service = deploy(
        NAUTILUS_MAX_RUNNING_PER_OWNER="1",
        NAUTILUS_QUOTA_WAIT="0.5",
        NAUTILUS_JOB_STALE_AFTER="60",  # a slow heartbeat on a loaded machine is not a free turn
    )
    alice, bob = (service.client(service.create_key(owner())) for _ in range(2))
    body = spec(start_date="2020-01-01T00:00:00Z")  # five years: each run takes a while
    alices = [submit(alice, body) for _ in range(3)]
    bobs = submit(bob, body)
    service.workers.start(concurrency=2)  # two slots: without the quota alice would take both

    rows = {job: wait_for(job, lambda r: r["status"] in DONE, timeout=240) for job in alices}
    bob_row = wait_for(bobs, lambda r: r["status"] in DONE, timeout=240)
    ended = [*rows.values(), bob_row]
    assert all(r["status"] == "completed" for r in ended), [r["error"] for r in ended]
    spans = sorted((r["started_at"], r["finished_at"]) for r in rows.values())
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, "two of alice's jobs ran at once"
    assert all(r["attempts"] == 1 for r in rows.values())  # waiting is not an attempt
    # bob's job took the free slot while alice's waited: it started before her last one
    assert bob_row["started_at"] < spans[-1][0]


def test_an_owner_over_the_stored_bytes_quota_is_refused_before_anything_is_stored(
    deploy, wait_for, sessions
):
    service = deploy(NAUTILUS_QUOTA_STORED_BYTES="5000", NAUTILUS_QUOTA_STORED_CACHE="0")
    name = owner()  # owners are per database, which every test of the session shares
    alice = service.client(service.create_key(name))
    bob = service.client(service.create_key(owner()))
    service.workers.start()
    first = submit(alice, spec())
    assert wait_for(first, lambda r: r["status"] in DONE, timeout=120)["status"] == "completed"

    refused = alice.post("/backtests", json=spec())
    body = refused.get_json()
    assert refused.status_code == 422, body
    assert body["stored_bytes_limit"] == 5000 and body["stored_bytes"] >= 5000
    assert "stored_bytes" in body["errors"] and "NAUTILUS_QUOTA_STORED_BYTES" in body["message"]
    with transaction(sessions) as session:
        owned = session.execute(
            sa.text("SELECT count(*), sum(pg_column_size(spec)) FROM jobs WHERE owner = :o"),
            {"o": name},
        ).one()
        assert body["stored_bytes"] == stored_bytes(session, name)
    assert owned[0] == 1  # nothing stored for the refused request
    assert owned[1] < 5000  # her request alone was under the limit: the result counts
    signals = alice.post("/data/signals", data=b"date,SPY\n2024-01-02,0.5\n")
    assert signals.status_code == 422 and signals.get_json()["stored_bytes_limit"] == 5000
    assert submit(bob, spec())  # the quota is per owner
