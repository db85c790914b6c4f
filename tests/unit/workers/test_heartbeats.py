"""A worker whose consumer loop stopped turning is told apart from a consuming one."""

from __future__ import annotations

from workers.heartbeats import consuming


def test_a_worker_whose_loop_stopped_turning_is_not_consuming():
    assert consuming({"consuming_at": 100.0}, stalled_after=15.0, now=110.0)
    assert not consuming({"consuming_at": 100.0}, stalled_after=15.0, now=116.0)


def test_a_worker_that_does_not_report_its_loop_counts_as_consuming():
    assert consuming({"hostname": "cpu@old"}, stalled_after=15.0, now=1e9)
