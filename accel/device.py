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


def compute_dtype() -> np.dtype:
    """Simulation dtype: float64 on the CPU (parity to the cent), float32 on accelerators."""
    return np.dtype(np.float32 if is_accelerator() else np.float64)


def signal_dtype() -> np.dtype:
    """Indicator dtype: float64 wherever the device has it (Metal does not).

    Crossovers compare nearly equal averages; in float32 about 5 % of a GOOG SMA sweep's sets
    flipped a signal and traded differently (bench/gpu_check.py), so decisions stay float64.
    """
    return np.dtype(np.float32 if platform() == "metal" else np.float64)


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
    """What JAX sees: platform, every device with its kind, and the dtype kernels use."""
    import jax

    return {
        "platform": platform(),
        "accelerated": is_accelerator(),
        "device": device_label(),
        "devices": [
            {"id": d.id, "platform": d.platform, "kind": d.device_kind} for d in jax.devices()
        ],
        "dtype": compute_dtype().name,
        "jax_version": jax.__version__,
    }
