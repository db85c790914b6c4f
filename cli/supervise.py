"""Keeping the service's child processes alive: a child that dies is started again.

``nautilus-bt serve`` and ``nautilus-bt worker`` run their processes (API, worker, beat) under a
``Supervisor``: a child that exits while the command runs is logged with its exit status and
started again after a bounded backoff (1 s doubling to 30 s; back to 1 s once a child has stayed
up a minute), so no single crash (a killed worker, a library bug that exits the worker after a
Redis restart) leaves accepted work without a consumer.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cli.processes import Child

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0


def backoff(failures: int) -> float:
    """Seconds to wait before the next start after ``failures`` quick deaths in a row."""
    return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(0, failures - 1))


@dataclass
class Supervised:
    """One child process kept running: ``spawn`` starts it (again)."""

    name: str
    spawn: Callable[[], Child]
    say: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    child: Child | None = None
    restarts: int = 0
    failures: int = 0
    started_at: float = 0.0
    next_start: float = 0.0

    def start(self) -> Child:
        self.child, self.started_at = self.spawn(), self.clock()
        return self.child

    def check(self) -> None:
        """Restart the child if it died and its backoff has passed (call it periodically)."""
        now = self.clock()
        if self.child is not None:
            if self.child.alive():
                if now - self.started_at >= STABLE_AFTER_S:
                    self.failures = 0
                return
            pid, code = self.child.pid, self.child.stop()
            self.failures += 1
            delay = backoff(self.failures)
            self.say(f"{self.name} (pid {pid}) exited with status {code}; restart in {delay:g}s")
            self.child, self.next_start = None, now + delay
        if now >= self.next_start:
            child = self.start()
            self.restarts += 1
            self.say(f"restarted {self.name} (pid {child.pid}, restart {self.restarts})")

    def stop(self, timeout: float = 20.0) -> int | None:
        child, self.child = self.child, None
        return child.stop(timeout) if child else None


@dataclass
class Supervisor:
    """Several supervised children, checked every ``interval`` seconds until a signal."""

    say: Callable[[str], None] = print
    interval: float = 0.5
    members: list[Supervised] = field(default_factory=list)

    def add(self, name: str, spawn: Callable[[], Child]) -> Child:
        member = Supervised(name, spawn, self.say)
        self.members.append(member)
        return member.start()

    def children(self) -> list[Child]:
        return [m.child for m in self.members if m.child is not None]

    def run_until_signal(self) -> None:
        """Block until SIGINT or SIGTERM, restarting children that die meanwhile."""
        stopping: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: stopping.append(signum))
        while not stopping:
            for member in self.members:
                member.check()
            time.sleep(self.interval)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every child, the last started first."""
        for member in reversed(self.members):
            pid = member.child.pid if member.child else None
            code = member.stop(timeout)
            if pid is not None:
                self.say(f"stopped {member.name} (pid {pid}, exit {code})")
        self.members.clear()
