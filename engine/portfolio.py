"""Portfolio rules applied to target weights before simulation: position, sector and leverage caps.

Each rule only scales weights down, applied in this order: single-position cap, sector cap,
gross leverage cap; the result satisfies all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np


class Limits(NamedTuple):
    """Caps as fractions of equity; ``sector_map`` is ``(G, S)`` one-hot or None."""

    max_position: float
    max_leverage: float
    max_sector: float
    sector_map: np.ndarray | None


def limits_for(
    symbols: Sequence[str],
    max_position_size: float,
    max_portfolio_leverage: float,
    risk_limits: Mapping[str, float],
    sectors: Mapping[str, str],
) -> Limits:
    single = risk_limits.get("max_single_position", np.inf)
    sector_cap = risk_limits.get("max_sector_exposure")
    sector_map = None
    if sector_cap is not None:
        names = sorted({sectors[s] for s in symbols if s in sectors})
        sector_map = np.array([[sectors.get(s) == g for s in symbols] for g in names], dtype=float)
    return Limits(
        max_position=float(min(max_position_size, single)),
        max_leverage=float(max_portfolio_leverage),
        max_sector=float(sector_cap if sector_cap is not None else np.inf),
        sector_map=sector_map,
    )


def apply_limits(weights: jnp.ndarray, limits: Limits) -> jnp.ndarray:
    """Weights ``(..., S)`` scaled so every cap holds."""
    w = jnp.clip(weights, -limits.max_position, limits.max_position)
    if limits.sector_map is not None:
        sector_map = jnp.asarray(limits.sector_map, w.dtype)
        exposure = jnp.abs(w) @ sector_map.T
        scale = jnp.minimum(1.0, limits.max_sector / jnp.where(exposure > 0, exposure, 1.0))
        w = w * (scale @ sector_map + (1.0 - sector_map.sum(0)))
    gross = jnp.abs(w).sum(-1, keepdims=True)
    return w * jnp.minimum(1.0, limits.max_leverage / jnp.where(gross > 0, gross, 1.0))
