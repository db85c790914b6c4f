from __future__ import annotations

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
