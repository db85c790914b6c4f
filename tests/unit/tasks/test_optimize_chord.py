"""Chord shapes: GPU batches of thousands, CPU batches for every live process, equal sizes."""

from __future__ import annotations

import pytest

from tasks.optimize_chord import batch_count, batches, cpu_slots
from workers.settings import load_settings


@pytest.fixture
def settings(tmp_path):
    return load_settings({"NAUTILUS_VAR_DIR": str(tmp_path)})  # gpu 4096, cpu 1024 per task


@pytest.mark.parametrize(
    ("n_sets", "pool", "slots", "parallel", "expected"),
    [
        (10_000, "gpu", 2, True, 3),  # ceil(10,000 / 4,096): thousands per GPU task
        (10_000, "cpu", 2, True, 10),  # at most 1,024 sets per CPU task
        (600, "cpu", 2, True, 2),  # one task per live CPU process at least
        (600, "cpu", 8, True, 8),
        (40, "cpu", 8, True, 3),  # but not slivers of fewer than 16 sets
        (10_000, "cpu", 2, False, 1),  # use_parallel false: one task
        (0, "cpu", 2, True, 0),
    ],
)
def test_batch_count(settings, n_sets, pool, slots, parallel, expected):
    assert batch_count(n_sets, pool, slots, settings, parallel) == expected


def test_batches_cover_every_index_once_with_equal_sizes():
    indices = [0, 1, 2, 5, 6, 9, 10, 11, 12, 20]  # a re-plan sees scattered unscored trials
    ranges = batches(indices, 3)
    covered = [i for a, b in ranges for i in indices if a <= i < b]
    assert covered == indices
    sizes = [sum(a <= i < b for i in indices) for a, b in ranges]
    assert max(sizes) - min(sizes) <= 1
    assert batches(indices, 50) == [(i, i + 1) for i in indices]
    assert batches([], 3) == []


def test_cpu_slots_count_live_cpu_processes():
    workers = [
        {"pool": "cpu", "concurrency": 2},
        {"pool": "gpu", "concurrency": 1},
        {"pool": "cpu", "concurrency": None},
    ]
    assert cpu_slots(workers) == 3
