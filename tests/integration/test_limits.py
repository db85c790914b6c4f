"""Keys, quotas and limits on real PostgreSQL and Redis: 401s, 429s with Retry-After, 4xx for
inputs that were 500s, and every refusal made before anything is stored or enqueued."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from cli.main import main
from store.db import transaction
from workers import revocations
from workers.queues import ALL_QUEUES

pytestmark = pytest.mark.integration


def stored_and_queued(service, sessions) -> tuple[int, int]:
    with transaction(sessions) as session:
        rows = session.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one()
    return rows, sum(service.redis.llen(q) for q in ALL_QUEUES)


def unchanged(before: tuple[int, int], after: tuple[int, int]) -> bool:
    """No new row, and no new message (a worker may have taken some meanwhile)."""
    return after[0] == before[0] and after[1] <= before[1]


def test_keys_are_required_and_checked(shared):
    anonymous = shared.client()
    for path in ("/jobs", "/backtests/bt_x", "/strategies", "/metrics", "/data/symbols"):
        answer = anonymous.get(path)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(answer.get_json()) >= {"code", "message", "request_id"}
    bad = shared.client("nbt_000000000000_" + "x" * 43)
    assert bad.get("/jobs").status_code == 401
    assert anonymous.get("/jobs", headers={"X-API-Key": shared.admin_key}).status_code == 200
    assert anonymous.get("/no/such/route").status_code == 404


def test_health_shows_anonymous_callers_no_hosts_pids_versions_or_paths(shared):
    anonymous = shared.client().get("/health").get_json()
    for field in ("status", "engine", "messagebus_connected", "hardware_acceleration",
                  "performance_metrics", "execution_metrics", "workers_alive"):  # fmt: skip
        assert field in anonymous, field
    assert anonymous["workers_alive"]["cpu"] >= 1
    assert not {"components", "workers", "queues", "version", "port", "uptime_seconds"} & set(
        anonymous
    )
    text = str(anonymous)
    assert "pid" not in text and "hostname" not in text and "@" not in text
    admin = shared.api.get("/health").get_json()
    assert admin["workers"]["cpu"][0]["hostname"] and "components" in admin


def test_revoked_keys_stop_working(deploy, capsys, monkeypatch):
    service = deploy(NAUTILUS_AUTH_CACHE="3600")  # only the announced revocation can end it
    monkeypatch.setattr("cli.keys.get_settings", lambda: service.settings)
    assert main(["keys", "create", "--owner", "carol"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[-1]
    key_id = key.split("_")[1]
    assert key.startswith("nbt_") and key_id in lines[0]
    carol = service.client(key)
    assert carol.get("/jobs").status_code == 200
    assert main(["keys", "list"]) == 0
    assert "carol" in capsys.readouterr().out
    with service.app.extensions["nautilus"].sessions() as session:
        stored = session.execute(
            sa.text("SELECT digest FROM api_keys WHERE id = :i"), {"i": key_id}
        )
        assert key not in stored.scalar_one()  # only a digest is stored
    assert carol.get("/jobs").status_code == 200  # and now cached
    assert main(["keys", "revoke", key_id]) == 0
    assert capsys.readouterr().out.strip() == f"revoked {key_id}"  # Redis was told
    deadline = time.monotonic() + revocations.CHECK_S + 5
    while carol.get("/jobs").status_code != 401:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.1)


def test_queued_jobs_over_the_quota_are_429_and_store_nothing(deploy, sessions, make_spec):
    service = deploy(NAUTILUS_QUOTA_QUEUED_JOBS="2")  # no worker: jobs stay queued
    dave = service.client(service.create_key("dave"))
    for _ in range(2):
        assert dave.post("/backtests", json=make_spec()).status_code == 202
    before = stored_and_queued(service, sessions)
    refused = dave.post("/backtests", json=make_spec())
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "NAUTILUS_QUOTA_QUEUED_JOBS=2" in refused.get_json()["message"]
    assert unchanged(before, stored_and_queued(service, sessions))
    erin = service.client(service.create_key("erin"))  # quotas are per owner
    assert erin.post("/backtests", json=make_spec()).status_code == 202


def test_work_over_the_limit_is_422_and_stores_nothing(shared, sessions, make_spec):
    before = stored_and_queued(shared, sessions)
    big = make_spec(symbols=[f"S{i}" for i in range(1000)], frequency="1m")
    answer = shared.api.post("/backtests", json=big)
    assert answer.status_code == 422 and answer.get_json()["work_limit"] == 50_000_000
    assert unchanged(before, stored_and_queued(shared, sessions))


def test_requests_over_the_rate_are_429_with_retry_after(deploy):
    service = deploy(NAUTILUS_RATE_LIMIT="5/minute")
    frank, grace = (service.client(service.create_key(n)) for n in ("frank", "grace"))
    clear_of_the_minutes_end()  # the limit's windows are the wall clock's minutes
    assert [frank.get("/jobs").status_code for _ in range(5)] == [200] * 5
    refused = frank.get("/jobs")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["code"] == 429
    assert grace.get("/jobs").status_code == 200  # counted per owner


def clear_of_the_minutes_end(margin_s: float = 10.0) -> None:
    """Wait (at most ``margin_s``) for the next minute when this one ends within ``margin_s``:
    hits on both sides of a minute's end fall into two windows of a per-minute limit."""
    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.1)


def test_nul_characters_are_400_on_postgresql(shared, sessions, make_spec):
    before = stored_and_queued(shared, sessions)
    assert shared.api.post("/backtests", json=make_spec(backtest_name="a\x00b")).status_code == 400
    assert shared.api.get("/backtests/bt_%00").status_code == 400
    body = {"filters": {"backtest_name": "x\x00"}}
    assert shared.api.post("/backtests/query", json=body).status_code == 400
    assert unchanged(before, stored_and_queued(shared, sessions))
