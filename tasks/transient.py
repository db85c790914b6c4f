"""Infrastructure errors a later try may not meet, and the in-place retry that rides them out.

A claim or a job's ending that meets a dying database connection (a failover, a restart, a
blip) is retried where it stands, backing off, for a bounded time; only then does the error
reach the task (which retries with a countdown, or leaves the job to the reconciler). Redis
and broker outages are transient too: with the queues on RabbitMQ a worker keeps running jobs
while Redis restarts, and a job that reads heartbeats or sends its chord then must not fail
for good (the fault suite's Redis crash on RabbitMQ failed an optimization that way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import redis
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (
    OperationalError,  # the database (SQLAlchemy)
    ConnectionError,
    TimeoutError,
    redis.ConnectionError,  # Redis down or still loading its append-only file
    redis.TimeoutError,
    BrokerError,  # the broker refused a publish (kombu, after its own retries)
)
"""Errors of the infrastructure that a later try may not meet; everything else ends the job."""

IN_PLACE_S = 20.0
"""How long one step retries in place: past a short outage, not past the job's staleness."""

T = TypeVar("T")


def in_place(fn: Callable[[], T]) -> T:
    """``fn()``, retried on transient errors with backoff (0.25 s doubling to 4 s) for up to
    ``IN_PLACE_S`` seconds; the last error is raised once that time has passed."""
    retrying = retry(
        retry=retry_if_exception_type(TRANSIENT),
        stop=stop_after_delay(IN_PLACE_S),
        wait=wait_exponential(multiplier=0.25, max=4.0),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    return retrying(fn)()
