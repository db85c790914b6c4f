"""Kernel configuration: BLAS leaves the cores to the kernels."""

from __future__ import annotations

import os
from pathlib import Path

import threadpoolctl

from accel import jit


def test_configure_leaves_blas_one_thread_now_and_for_libraries_loaded_later():
    threadpoolctl.threadpool_limits(2, user_api="blas")
    jit.configure(jit._config.cache_dir, jax_cache=False)
    blas = threadpoolctl.threadpool_info()
    assert blas and all(lib["num_threads"] == 1 for lib in blas if lib["user_api"] == "blas")
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_a_generated_module_is_recompiled_when_a_building_block_it_calls_changes(monkeypatch):
    """numba's cache would keep the callee's old machine code: its text keys the module."""
    import types

    block = types.ModuleType("block")
    monkeypatch.setattr(jit.inspect, "getsource", lambda module: module.text)
    source = "def value():\n    return 1\n"
    block.text = "def cost(): return 0.1"
    first = jit.generated_module("stamp_test", source, depends=(block,))
    assert jit.generated_module("stamp_test", source, depends=(block,)) is first
    block.text = "def cost(): return 0.2"
    second = jit.generated_module("stamp_test", source, depends=(block,))
    assert second is not first and second.__name__ != first.__name__
    assert "# compiled with block: " in Path(second.__file__).read_text()
