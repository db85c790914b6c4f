"""Transient infrastructure errors (database, Redis, broker) are retried in place, bounded;
other errors are not retried."""

from __future__ import annotations

import pytest
import redis
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError

from tasks import transient


def flaky(failures: int, error: Exception):
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return "claimed"

    return fn, calls


def test_a_transient_error_is_retried_in_place():
    fn, calls = flaky(2, OperationalError("UPDATE jobs", {}, Exception("server closed")))
    assert transient.in_place(fn) == "claimed"
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        redis.TimeoutError("Timeout reading from socket"),
        BrokerError("[Errno 111] Connection refused"),
    ],
    ids=["redis-refused", "redis-loading", "redis-timeout", "broker"],
)
def test_redis_and_broker_outages_are_transient(error):
    assert isinstance(error, transient.TRANSIENT)
    fn, calls = flaky(1, error)
    assert transient.in_place(fn) == "claimed"
    assert len(calls) == 2


def test_other_errors_are_not_retried():
    fn, calls = flaky(1, ValueError("a bug"))
    with pytest.raises(ValueError):
        transient.in_place(fn)
    assert len(calls) == 1


def test_retrying_in_place_is_bounded(monkeypatch):
    monkeypatch.setattr(transient, "IN_PLACE_S", 0.3)
    fn, calls = flaky(10_000, ConnectionError("refused"))
    with pytest.raises(ConnectionError):
        transient.in_place(fn)
    assert 1 < len(calls) < 10
