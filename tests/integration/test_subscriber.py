"""The small subscriber command peers can copy: replay, consumer groups, acknowledgements."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workers.events import STREAM, EventPublisher
from workers.kinds import BACKTEST

pytestmark = pytest.mark.integration


def run_subscribe(service, *args: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "subscribe", *args],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_group_replays_and_acknowledges_and_job_mode_stops_at_the_end(isolated):
    publisher = EventPublisher(isolated.redis, stream_maxlen=1000)
    job = "bt_01M8D3PM5EZFWGX1AQCRWH5VWJ"
    publisher.publish(BACKTEST, "started", job, {"worker": "w"})
    publisher.publish(BACKTEST, "progress", job, {"progress_percentage": 50.0})
    publisher.publish(BACKTEST, "completed", job, {"status": "completed"})

    events = run_subscribe(isolated, "--from-start", "--group", "peers", "--count", "2")
    assert [e["type"] for e in events] == ["backtest_start", "backtest_complete"]  # no progress
    assert all(e["id"] for e in events)
    assert isolated.redis.xpending(STREAM, "peers")["pending"] == 0

    followed = run_subscribe(isolated, "--job", job, "--timeout", "5")
    assert [e["type"] for e in followed] == ["backtest_start", "backtest_complete"]


def test_a_group_reader_that_crashed_before_acking_replays_the_entry(isolated):
    publisher = EventPublisher(isolated.redis, stream_maxlen=1000)
    isolated.redis.xgroup_create(STREAM, "risk", id="$", mkstream=True)
    first = publisher.publish(BACKTEST, "completed", "bt_01M8D3PM5EZFWGX1AQCRWH5VWA", {})
    again = dict(first)  # relayed twice (at least once): the same event id, a second entry
    publisher.send([again], durable=True)
    second = publisher.publish(BACKTEST, "completed", "bt_01M8D3PM5EZFWGX1AQCRWH5VWB", {})
    # r1 reads the first entry and dies before acknowledging it
    isolated.redis.xreadgroup("risk", "r1", {STREAM: ">"}, count=1)
    assert isolated.redis.xpending(STREAM, "risk")["pending"] == 1

    events = run_subscribe(isolated, "--group", "risk", "--consumer", "r1", "--count", "2")
    assert [e["id"] for e in events] == [first["id"], second["id"]]  # replayed, repeat dropped
    assert isolated.redis.xpending(STREAM, "risk")["pending"] == 0
