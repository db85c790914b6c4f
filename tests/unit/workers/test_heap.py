"""The frozen start-up heap: skipped by collections, released on demand, frozen once."""

import gc
import weakref

import pytest

from workers import heap


class Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed(monkeypatch):
    monkeypatch.setattr(heap, "_frozen_once", False)
    gc.unfreeze()
    yield
    gc.unfreeze()


def cycle() -> weakref.ref:
    return weakref.ref(Node())


def test_frozen_cycles_survive_a_collection_until_collect_all():
    node = Node()
    alive = weakref.ref(node)
    heap.freeze()
    del node
    gc.collect()
    assert alive() is not None  # frozen: the collector does not look at it
    heap.collect_all()
    assert alive() is None
    assert gc.get_freeze_count() > 0  # frozen again, as it was


def test_collect_all_leaves_an_unfrozen_process_unfrozen():
    dead = cycle()
    heap.collect_all()
    assert dead() is None
    assert gc.get_freeze_count() == 0


def test_freeze_collects_first_and_freezes_once():
    dead = cycle()
    assert heap.freeze_once()
    assert dead() is None  # garbage is collected, not frozen
    frozen = gc.get_freeze_count()
    assert frozen > 0
    gc.unfreeze()
    assert not heap.freeze_once()
    assert gc.get_freeze_count() == 0
