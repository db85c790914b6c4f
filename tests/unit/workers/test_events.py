from __future__ import annotations

import json

from workers.events import STREAM, EventPublisher, ProgressThrottle, channel, envelope
from workers.kinds import BACKTEST, OPTIMIZATION, STRESS_TEST, terminal


def test_envelope_has_the_documented_keys():
    event = envelope("backtest_complete", "bt_1", "backtest", {"a": 1})
    assert list(event) == ["id", "type", "version", "job_id", "kind", "ts", "data"]
    assert event["ts"].endswith("Z") and event["version"] == 1
    assert envelope("backtest_complete", "bt_1", "backtest", {})["id"] != event["id"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_throttle_lets_first_and_last_through_and_spaces_the_rest():
    clock = FakeClock()
    throttle = ProgressThrottle(0.5, clock)
    assert throttle.allow(0.0)
    clock.now = 0.1
    assert not throttle.allow(0.2)
    clock.now = 0.2
    assert throttle.allow(1.0)  # completion is never swallowed
    clock.now = 0.8
    assert throttle.allow(0.5)


class RecordingPipeline:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def publish(self, *args):
        self.calls.append(("publish", args))

    def xadd(self, *args, **kwargs):
        self.calls.append(("xadd", args, kwargs))

    def execute(self):
        return []


class RecordingRedis:
    def __init__(self) -> None:
        self.calls: list = []

    def pipeline(self, transaction: bool = True) -> RecordingPipeline:
        return RecordingPipeline(self.calls)


def test_progress_goes_to_pubsub_only_and_completion_also_to_the_stream():
    client = RecordingRedis()
    publisher = EventPublisher(client, stream_maxlen=1000)
    publisher.publish(BACKTEST, "progress", "bt_1", {"progress_percentage": 10.0})
    assert [c[0] for c in client.calls] == ["publish"]
    publisher.publish(BACKTEST, "completed", "bt_1", {})
    kinds = [c[0] for c in client.calls]
    assert kinds == ["publish", "publish", "xadd"]
    _, args, kwargs = client.calls[-1]
    assert args[0] == STREAM and kwargs == {"maxlen": 1000, "approximate": True}
    assert json.loads(args[1]["event"])["type"] == "backtest_complete"
    assert args[1]["id"] == json.loads(args[1]["event"])["id"]  # the id consumers dedupe on
    assert client.calls[0][1][0] == channel("bt_1") == "nautilus:jobs:bt_1"


def test_each_kind_tells_its_stages_in_its_own_event_type():
    assert BACKTEST.event("failed", {"status": "failed"}) == (
        "backtest_failed", {"status": "failed"},
    )  # fmt: skip
    assert BACKTEST.event("cancelled", {})[0] == "backtest_cancelled"
    assert OPTIMIZATION.event("failed", {"code": "x"}) == (
        "parameter_optimization", {"stage": "failed", "code": "x"},
    )  # fmt: skip
    assert STRESS_TEST.event("cancelled", {}) == ("stress_test_result", {"stage": "cancelled"})


def test_staged_progress_stays_off_the_stream_and_endings_are_terminal():
    client = RecordingRedis()
    publisher = EventPublisher(client, stream_maxlen=10)
    progress = publisher.publish(OPTIMIZATION, "progress", "opt_1", {})
    assert [c[0] for c in client.calls] == ["publish"]
    done = publisher.publish(OPTIMIZATION, "completed", "opt_1", {})
    assert [c[0] for c in client.calls][-1] == "xadd"
    assert terminal(done) and not terminal(progress)
    assert not terminal(publisher.publish(STRESS_TEST, "started", "st_1", {}))
