"""The task broker: Redis (the embedded default) or RabbitMQ (production, ``BROKER_URL``).

Both carry the same queues (``workers.queues``), routed the same way, consumed with late acks
and a prefetch of one. What differs is how a message survives a failure (docs/service.md):

- Redis: a delivered, unacknowledged message goes back to its queue only when the visibility
  timeout expires, so the timeout sits above the hard time limit; a publish is acknowledged by
  one Redis server, durable only as far as its append-only file.
- RabbitMQ: durable quorum queues (Raft-replicated, fsync'd before a publish is confirmed),
  publisher confirms (``send_task`` returns once the broker has the message), and an
  unacknowledged delivery returns to its queue as soon as the consumer's connection dies
  (missed heartbeats), not after a timeout. Quorum queues allow no global QoS (Celery detects
  them and applies prefetch per consumer) and delay countdowns on the broker (Celery's native
  delayed delivery, which needs a topic exchange). RabbitMQ has no visibility timeout; its
  ``consumer_timeout`` (deploy/rabbitmq.conf) must exceed the hard time limit instead.
"""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery
from kombu import Exchange, Queue

from workers.queues import ALL_QUEUES
from workers.settings import Settings

EXCHANGE = Exchange("nautilus", type="topic", durable=True)
QUORUM = {"x-queue-type": "quorum"}


def task_queues(settings: Settings) -> list[Queue]:
    """Every work queue, declared for the configured broker (quorum queues on RabbitMQ)."""
    if settings.broker_kind == "amqp":
        return [
            Queue(name, EXCHANGE, routing_key=name, durable=True, queue_arguments=QUORUM)
            for name in ALL_QUEUES
        ]
    return [Queue(name, routing_key=name) for name in ALL_QUEUES]


def broker_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings that depend on which broker carries the queues."""
    common = {"broker_url": settings.celery_broker_url, "task_queues": task_queues(settings)}
    if settings.broker_kind == "amqp":
        return common | {
            "broker_transport_options": {"confirm_publish": True},
            "broker_heartbeat": settings.broker_heartbeat_s,
            "task_default_exchange": EXCHANGE.name,
            "task_default_exchange_type": EXCHANGE.type,
            "worker_detect_quorum_queues": True,
        }
    return common | {
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 10)),
            "unacked_restore_throttle": 1,
            "socket_timeout": 30,
        },
    }


def declare_queues(app: Celery) -> None:
    """Declare every work queue on RabbitMQ before a worker consumes: at start it binds all of
    them (not only its own) to Celery's delayed-delivery exchanges, and a missing one turns
    broker-side countdowns off. Nothing to do on Redis, whose queues are lists."""
    if _on_redis(app):
        return
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        for queue in app.conf.task_queues:
            queue.bind(conn.default_channel).declare()


def queue_depths(app: Celery, client: redis.Redis) -> dict[str, int | None]:
    """Messages waiting per work queue (None for each when the broker is unreachable)."""
    try:
        if _on_redis(app):
            pipe = client.pipeline(transaction=False)
            for name in ALL_QUEUES:
                pipe.llen(name)
            return dict(zip(ALL_QUEUES, pipe.execute(), strict=True))
        return _amqp_depths(app)
    except (redis.RedisError, OSError):
        return dict.fromkeys(ALL_QUEUES)


def ping(app: Celery, client: redis.Redis) -> None:
    """Raise ``OSError``/``RedisError`` unless the broker answers now."""
    if _on_redis(app):
        client.ping()
        return
    with app.connection_for_write() as conn:
        try:
            conn.ensure_connection(max_retries=1, timeout=5)
        except conn.connection_errors as exc:
            raise OSError(str(exc)) from exc


def _on_redis(app: Celery) -> bool:
    return str(app.conf.broker_url).startswith(("redis", "unix"))


def _amqp_depths(app: Celery) -> dict[str, int | None]:
    """A passive declare per queue; one the broker does not know yet holds nothing (a publish
    declares its queue first)."""
    depths: dict[str, int | None] = {}
    with app.connection_for_read() as conn:
        try:
            conn.ensure_connection(max_retries=1, timeout=5)
        except conn.connection_errors as exc:
            raise OSError(str(exc)) from exc
        for name in ALL_QUEUES:
            channel = conn.channel()
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except conn.channel_errors:
                depths[name] = 0
            finally:
                channel.close()
    return depths
