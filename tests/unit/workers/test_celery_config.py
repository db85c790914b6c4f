from __future__ import annotations

from workers.broker import EXCHANGE
from workers.celery_config import RECONCILE, celery_config
from workers.queues import ALL_QUEUES
from workers.settings import load_settings


def test_delivery_policy(tmp_path):
    settings = load_settings({"NAUTILUS_VAR_DIR": str(tmp_path)})
    conf = celery_config(settings)
    assert conf["task_acks_late"] and conf["task_retry_on_worker_lost"]
    assert not conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["accept_content"] == ["json"] and conf["task_serializer"] == "json"
    assert conf["broker_transport_options"]["visibility_timeout"] > conf["task_time_limit"]
    assert conf["result_backend"].startswith("redis")
    assert [q.name for q in conf["task_queues"]] == ALL_QUEUES
    assert conf["beat_schedule"]["reconcile-jobs"]["task"] == RECONCILE
    assert conf["task_routes"][RECONCILE]["queue"] == "control"
    assert conf["broker_url"] == conf["result_backend"]  # the embedded default: Redis for both


def test_rabbitmq_carries_the_queues_durably_and_redis_the_results(tmp_path):
    env = {
        "NAUTILUS_VAR_DIR": str(tmp_path),
        "REDIS_URL": "redis://r:6379/0",
        "BROKER_URL": "amqp://u:p@mq:5672//",
    }
    conf = celery_config(load_settings(env))
    assert conf["broker_url"] == "amqp://u:p@mq:5672//"
    assert conf["result_backend"] == "redis://r:6379/0"
    assert conf["broker_transport_options"] == {"confirm_publish": True}
    assert conf["task_acks_late"] and conf["worker_prefetch_multiplier"] == 1
    queues = conf["task_queues"]
    assert [q.name for q in queues] == ALL_QUEUES  # the same names and routing keys
    assert all(q.routing_key == q.name and q.durable for q in queues)
    assert all(q.queue_arguments == {"x-queue-type": "quorum"} for q in queues)
    # native delayed delivery (countdowns on quorum queues) needs a topic exchange
    assert all(q.exchange == EXCHANGE and EXCHANGE.type == "topic" for q in queues)
    assert conf["task_default_exchange"] == EXCHANGE.name
    assert conf["worker_detect_quorum_queues"]  # quorum queues refuse a global QoS
