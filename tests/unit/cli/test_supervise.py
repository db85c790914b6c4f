"""The supervisor starts a child that died again, backing off, and says so."""

from __future__ import annotations

import sys

from cli.processes import Child
from cli.supervise import MAX_BACKOFF_S, Supervised, backoff


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_and_is_bounded():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50) == MAX_BACKOFF_S


def test_a_dead_child_is_started_again_after_its_backoff():
    said: list[str] = []
    clock = Clock()
    argv = [sys.executable, "-c", "import sys; sys.exit(3)"]
    member = Supervised("crasher", lambda: Child("crasher", argv, {}, None), said.append, clock)
    first = member.start()
    first.process.wait(timeout=30)

    member.check()  # noticed: logged, not restarted before its backoff
    assert member.child is None and "exited with status 3" in said[-1]
    member.check()
    assert member.child is None
    clock.now += backoff(1)
    member.check()
    assert member.child is not None and member.child.pid != first.pid
    assert member.restarts == 1 and said[-1].startswith("restarted crasher")
    member.stop()
