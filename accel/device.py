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
    """float64 on the CPU (exact parity with reference engines), float32 on accelerators."""
    return np.dtype(np.float32 if is_accelerator() else np.float64)


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
