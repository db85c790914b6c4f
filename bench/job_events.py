"""Waiting for a job's event on its pub/sub channel, as a peer service follows a job: the
benches time a job to the event that ends it instead of polling the API, which would load the
API and the database they measure."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

CHANNELS = "nautilus:jobs:*"
"""Every job's channel (``workers.events.channel``): subscribe before submitting, so no event
of the new job can come before the subscription."""


def wait_for(
    pubsub: Any, job_id: str, accept: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The first event of ``job_id`` that ``accept`` takes, read from ``pubsub`` (subscribed to
    ``CHANNELS``); ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        published = message is not None and message["type"] in ("message", "pmessage")
        event = json.loads(message["data"]) if published else {}
        if event.get("job_id") == job_id and accept(event):
            return event
    raise TimeoutError(f"no such event for {job_id} in {timeout} s")
