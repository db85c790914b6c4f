"""``api.context.Cached``: one recompute at a time once a value exists, retried after a failure.
A request arriving while another recomputes is played here by a call made from inside the
compute (under gevent it is another greenlet, run while the query waits)."""

from __future__ import annotations

import pytest

from api import context
from api.context import Cached


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(context, "time", fake)
    return fake


class Counting:
    """A compute that counts its calls; with ``cache`` set, its next call first asks the cache
    itself, once, as a request arriving meanwhile would."""

    def __init__(self) -> None:
        self.calls = 0
        self.cache: Cached | None = None
        self.seen_meanwhile: list[object] = []
        self.fail = False

    def __call__(self) -> int:
        self.calls += 1
        number = self.calls
        cache, self.cache = self.cache, None
        if cache is not None:
            self.seen_meanwhile.append(cache.get())
        if self.fail:
            raise ConnectionError("database down")
        return number


def test_while_one_request_recomputes_the_others_answer_with_the_value_they_have(clock):
    compute = Counting()
    cache = Cached(10.0, compute)
    assert cache.get() == 1
    clock.now += 10.0  # due
    compute.cache = cache
    assert cache.get() == 2
    assert compute.seen_meanwhile == [1]  # not a third compute of its own
    assert compute.calls == 2


def test_before_the_first_value_every_request_computes(clock):
    compute = Counting()
    compute.cache = cache = Cached(10.0, compute)
    assert cache.get() == 1  # the outer compute returns after the inner one
    assert compute.seen_meanwhile == [2]  # the inner request computed its own: no value yet
    clock.now += 9.0
    assert cache.get() == 1 and compute.calls == 2  # then fresh for its ttl


def test_a_failed_recompute_leaves_the_value_due(clock):
    compute = Counting()
    cache = Cached(10.0, compute)
    assert cache.get() == 1
    clock.now += 10.0
    compute.fail = True
    with pytest.raises(ConnectionError):
        cache.get()
    compute.fail = False
    assert cache.get() == 3  # tried again at once
