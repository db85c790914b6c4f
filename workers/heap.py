"""A worker pool process's start-up objects kept out of the garbage collector's full passes.

A pool process holds about 400,000 objects once JAX, numba and the warm-up's kernels are
loaded. CPython's full (generation 2) collection walks all of them: 0.11-0.18 s, about once per
10,000 optimization trials scored, added to whichever batch happens to trigger it (measured
with ``gc.callbacks``). ``gc.freeze()`` moves the objects alive at that moment to a permanent
generation that collections skip; after it a full pass took 0.01-0.03 s. The objects of
start-up live as long as the process anyway. (An API worker holds about 300,000, but the API
bench measured no difference with them frozen: its full passes are rare.)
"""

from __future__ import annotations

import gc

_frozen_once = False


def freeze() -> None:
    """Collect what start-up left behind, then freeze everything still alive."""
    gc.collect()
    gc.freeze()


def freeze_once() -> bool:
    """``freeze`` the first time it is called in this process; True then."""
    global _frozen_once
    if _frozen_once:
        return False
    _frozen_once = True
    freeze()
    return True


def collect_all() -> None:
    """A full collection that also looks at frozen objects (for a cache just dropped whose
    entries may sit in reference cycles from before the freeze); frozen again if it was."""
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.collect()
    if frozen:
        gc.freeze()
