"""Which device the kernels run on, discovered once and reported as it is."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import accel  # noqa: F401  (64-bit mode)

ACCELERATED = ("gpu", "cuda", "rocm", "metal")


@functools.cache
def default_device():
    """The first JAX device; JAX picks CUDA or Metal over the CPU when their plugin is present."""
    import jax

    return jax.devices()[0]


def platform() -> str:
    return default_device().platform.lower()


def is_accelerator() -> bool:
    return platform() in ACCELERATED


def has_float64() -> bool:
    """CUDA, ROCm and the CPU compute in float64; Metal does not."""
    return platform() != "metal"


def decision_dtype() -> np.dtype:
    """Signals and accounts: float64 wherever the device has it, so every pool gives the CPU's
    numbers (a job is routed to a GPU by its size, not by the caller's choice).

    Measured on the GOOG SMA sweep on an H200 (bench/gpu_check.py): float32 signals flipped a
    crossover (nearly equal averages) in about 5 % of the sets; float32 accounts moved final
    equity by up to 0.5 % and Sharpe by up to 31 % against float64. Metal runs both in float32.
    """
    return np.dtype(np.float64 if has_float64() else np.float32)


def montecarlo_dtype() -> np.dtype:
    """Monte Carlo paths (and strategies run on them): float32 on accelerators, where the
    sampling error (about 1e-2 of a quantile at 10,000 paths) dwarfs float32 rounding (about
    1e-6); float64 on the CPU."""
    return np.dtype(np.float32 if is_accelerator() else np.float64)


def simulation_backend() -> str:
    """Which simulation runs here: the JAX scan on accelerators, the configured CPU backend
    (``accel.jit``: the fused numba loop by default) on a CPU."""
    from accel import jit

    return "jax" if is_accelerator() else jit.cpu_backend()


SCAN_UNROLL = {"cpu": 1, "accelerator": 8}
"""Bars per scan iteration; measured with bench/unroll.py."""


def scan_unroll() -> int:
    return SCAN_UNROLL["accelerator" if is_accelerator() else "cpu"]


CPU_MEMORY_BUDGET = 1 << 30
ACCELERATOR_MEMORY_SHARE = 0.5


def memory_budget() -> int:
    """Bytes a batched kernel call may plan for: half the accelerator's memory, 1 GiB on a CPU."""
    if not is_accelerator():
        return CPU_MEMORY_BUDGET
    stats = default_device().memory_stats() or {}
    limit = stats.get("bytes_limit") or stats.get("bytes_reservable_limit")
    return int(limit * ACCELERATOR_MEMORY_SHARE) if limit else CPU_MEMORY_BUDGET


def device_label() -> str:
    """A short name such as ``cpu`` or ``cuda:0`` for reports."""
    device = default_device()
    kind = "cuda" if device.platform == "gpu" else device.platform.lower()
    return f"{kind}:{device.id}" if kind != "cpu" else "cpu"


def device_info() -> dict[str, Any]:
    """What JAX sees: platform, every device with its kind, and the dtypes kernels use."""
    import jax

    return {
        "platform": platform(),
        "accelerated": is_accelerator(),
        "device": device_label(),
        "devices": [
            {"id": d.id, "platform": d.platform, "kind": d.device_kind} for d in jax.devices()
        ],
        "dtype": decision_dtype().name,
        "montecarlo_dtype": montecarlo_dtype().name,
        "jax_version": jax.__version__,
    }
