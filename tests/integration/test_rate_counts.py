"""The request counts behind ``NAUTILUS_RATE_LIMIT`` on a real Redis: shared between API
processes (two ``RequestRate`` here), batched far from a limit, exact near it, and kept in
memory while Redis is down."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from limits import parse_many

from api import rate_limits
from api.rate_limits import KEY_PREFIX, RequestRate
from tests.integration.conftest import REDIS_PORT


@pytest.fixture
def client(redis_dbs):
    return redis.Redis(port=REDIS_PORT, db=redis_dbs[1], decode_responses=True)


class MidMinuteClock:
    """The clock as ``api.rate_limits`` reads it: the wall clock held in the middle of a minute,
    so that no test's hits fall into two windows of a limit (a test run across a minute's end
    admitted one hit too many), and the monotonic clock (the syncs' timing) real."""

    monotonic = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self.now = time.time() // 60 * 60 + 30

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def mid_minute(monkeypatch):
    monkeypatch.setattr(rate_limits, "time", MidMinuteClock())


def who() -> str:
    return f"owner:rate-{uuid.uuid4().hex[:8]}"


def admitted(rate: RequestRate, caller: str, n: int) -> int:
    return sum(rate.exceeded(caller) is None for _ in range(n))


def shared_count(client: redis.Redis, caller: str) -> int:
    return sum(int(client.get(key) or 0) for key in client.keys(f"{KEY_PREFIX}:{caller}:*"))


def test_processes_share_one_count(client, monkeypatch):
    monkeypatch.setattr(rate_limits, "SYNC_EVERY_S", 0.0)  # every request counted in Redis
    first, second = (RequestRate(parse_many("20/minute"), client) for _ in range(2))
    caller = who()
    assert admitted(first, caller, 15) == 15
    assert admitted(second, caller, 10) == 5  # the other process's 15 count
    item, reset_in = second.exceeded(caller) or (None, 0.0)
    assert item is not None and item.amount == 20 and 0 < reset_in <= 60
    assert first.exceeded(caller) is not None


def test_far_from_the_limit_counts_are_batched_then_reach_redis(client, monkeypatch):
    monkeypatch.setattr(rate_limits, "SYNC_EVERY_S", 1.0)  # longer than 10 hits take
    rate, caller = RequestRate(parse_many("1000/minute"), client), who()
    assert admitted(rate, caller, 10) == 10
    assert shared_count(client, caller) == 1  # the first hit synced, the others wait
    time.sleep(1.1)
    assert admitted(rate, caller, 1) == 1
    assert shared_count(client, caller) == 11


def test_near_the_limit_every_request_is_counted_in_redis(client, monkeypatch):
    monkeypatch.setattr(rate_limits, "SYNC_EVERY_S", 3600.0)  # no timed syncs after the first
    rate, caller = RequestRate(parse_many("20/minute"), client), who()
    assert admitted(rate, caller, 18) == 18
    assert shared_count(client, caller) == 1  # 18 is not above 90 % of 20: still batched
    assert admitted(rate, caller, 1) == 1
    assert shared_count(client, caller) == 19
    assert admitted(rate, caller, 5) == 1
    assert shared_count(client, caller) == 24  # refused requests count too


def test_every_shared_count_expires_with_its_window(client, monkeypatch):
    monkeypatch.setattr(rate_limits, "SYNC_EVERY_S", 0.0)
    first, second = (RequestRate(parse_many("100/minute;10/second"), client) for _ in range(2))
    caller = who()
    assert admitted(first, caller, 3) + admitted(second, caller, 2) == 5
    keys = client.keys(f"{KEY_PREFIX}:{caller}:*")
    ttls = {key.split(":")[-2]: client.ttl(key) for key in keys}
    assert ttls.keys() == {"100/60", "10/1"}
    assert 0 < ttls["100/60"] <= 61 and 0 < ttls["10/1"] <= 2
    assert shared_count(client, caller) == 10  # both limits' counts: 5 hits each


def test_while_redis_is_down_each_process_counts_alone(client, caplog):
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2)
    rate, caller = RequestRate(parse_many("5/minute"), unreachable), who()
    assert admitted(rate, caller, 8) == 5
    assert rate.exceeded(caller) is not None
    said = [r.getMessage() for r in caplog.records if r.name == rate_limits.__name__]
    assert len(said) == 1 and said[0].startswith("request counts not shared")  # once, not per try


def refused(**_: object) -> None:
    raise redis.ConnectionError("down")


def test_counts_are_shared_again_once_redis_answers(client, caplog, monkeypatch):
    monkeypatch.setattr(rate_limits, "RETRY_SHARED_S", 0.0)
    monkeypatch.setattr(rate_limits, "SYNC_EVERY_S", 0.0)
    rate, caller = RequestRate(parse_many("100/minute"), client), who()
    healthy = rate._add_counts
    rate._add_counts = refused
    assert admitted(rate, caller, 3) == 3  # counted alone, kept pending
    rate._add_counts = healthy
    assert admitted(rate, caller, 1) == 1
    assert shared_count(client, caller) == 4  # the hits counted alone reached Redis too
    said = [r.getMessage() for r in caplog.records if r.name == rate_limits.__name__]
    assert said == [
        "request counts not shared (each process counts alone): down",
        "request counts shared through Redis again",
    ]
