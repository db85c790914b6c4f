"""The outbox on SQLite (the embedded default): an event commits with its change, survives a
Redis outage and is relayed later with the same id; a rolled-back change leaves no event."""

from __future__ import annotations

import json

import pytest
import redis

from store import outbox
from store.db import make_engine, make_session_factory, transaction
from store.schema import upgrade
from workers.events import STREAM, EventPublisher
from workers.kinds import BACKTEST
from workers.relay import Outbox


class Pipeline:
    def __init__(self, owner: FlakyRedis) -> None:
        self.owner, self.calls = owner, []

    def publish(self, *args):
        self.calls.append(("publish", args))

    def xadd(self, name, fields, **kwargs):
        self.calls.append(("xadd", (name, fields)))

    def execute(self):
        if self.owner.down:
            raise redis.ConnectionError("Connection refused")
        self.owner.sent += self.calls


class FlakyRedis:
    def __init__(self) -> None:
        self.down, self.sent = False, []

    def pipeline(self, transaction: bool = True) -> Pipeline:
        return Pipeline(self)


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def stream_ids(client: FlakyRedis) -> list[str]:
    return [fields["id"] for kind, (name, fields) in client.sent if kind == "xadd"]


def test_an_event_recorded_while_redis_is_down_is_relayed_later_with_its_id(sessions, monkeypatch):
    monkeypatch.setattr("workers.relay.SWEEP_AFTER_S", 0.0)
    client = FlakyRedis()
    box = Outbox(sessions, EventPublisher(client, stream_maxlen=100))
    with transaction(sessions) as session:
        event = box.record(session, BACKTEST, "completed", "bt_1", {"status": "completed"})
    client.down = True
    assert box.relay([event]) == 0
    with transaction(sessions) as session:
        assert outbox.count(session) == 1  # kept for the sweep

    client.down = False
    assert box.sweep() == 1
    assert stream_ids(client) == [event["id"]]
    body = json.loads(next(f["event"] for k, (n, f) in client.sent if k == "xadd"))
    assert body["type"] == "backtest_complete" and body["id"] == event["id"]
    assert all(n == STREAM for k, (n, f) in client.sent if k == "xadd")
    with transaction(sessions) as session:
        assert outbox.count(session) == 0
    assert box.sweep() == 0


def test_a_change_rolled_back_leaves_no_event(sessions):
    box = Outbox(sessions, EventPublisher(FlakyRedis(), stream_maxlen=100))
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        box.record(session, BACKTEST, "failed", "bt_2", {"status": "failed"})
        raise RuntimeError("the state change failed")
    with transaction(sessions) as session:
        assert outbox.count(session) == 0


def test_the_sweep_leaves_fresh_events_to_their_recorder(sessions):
    client = FlakyRedis()
    box = Outbox(sessions, EventPublisher(client, stream_maxlen=100))
    with transaction(sessions) as session:
        box.record(session, BACKTEST, "started", "bt_3", {"worker": "w"})
    assert box.sweep() == 0 and client.sent == []
