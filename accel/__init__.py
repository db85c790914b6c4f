"""Compute backends: device discovery and the batched simulation kernel.

Importing this package turns on JAX's 64-bit mode (CPU runs in float64, accelerators in
float32 by choice of input dtype); it does not initialise any device.
"""

from typing import TypeAlias

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

Array: TypeAlias = jax.Array | np.ndarray
"""A result array on the device or its host (numpy) copy: the CPU kernels fill the same
NamedTuples as the JAX path."""
