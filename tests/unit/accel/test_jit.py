"""Kernel configuration: BLAS leaves the cores to the kernels."""

from __future__ import annotations

import os

import threadpoolctl

from accel import jit


def test_configure_leaves_blas_one_thread_now_and_for_libraries_loaded_later():
    threadpoolctl.threadpool_limits(2, user_api="blas")
    jit.configure(jit._config.cache_dir, jax_cache=False)
    blas = threadpoolctl.threadpool_info()
    assert blas and all(lib["num_threads"] == 1 for lib in blas if lib["user_api"] == "blas")
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
