"""Compute backends: device discovery and the batched simulation kernel.

Importing this package turns on JAX's 64-bit mode (CPU runs in float64, accelerators in
float32 by choice of input dtype); it does not initialise any device.
"""

import jax

jax.config.update("jax_enable_x64", True)
