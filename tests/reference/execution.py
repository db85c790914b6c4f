"""Obvious loop versions of the steps between signals and the kernel, for tests only.

``limit_weights`` applies the portfolio caps bar by bar; ``align`` moves each decision to the
bar whose fill executes it and lists the prices that bar sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tests.reference.signals import forward_fill


def limit_weights(
    weights: np.ndarray,
    max_position: float,
    max_leverage: float,
    max_sector: float = np.inf,
    sector_of: Sequence[int | None] | None = None,
) -> np.ndarray:
    """``(T, S)`` weights capped per symbol, then per sector, then in gross leverage.

    ``sector_of[s]`` is the sector index of symbol s (None: no sector). Each cap scales the
    weights it covers down proportionally; it never scales up.
    """
    out = np.array(weights, dtype=float, copy=True)
    steps, n = out.shape
    sector_of = sector_of or [None] * n
    for t in range(steps):
        row = [min(max(w, -max_position), max_position) for w in out[t]]
        for sector in {g for g in sector_of if g is not None}:
            members = [s for s in range(n) if sector_of[s] == sector]
            exposure = sum(abs(row[s]) for s in members)
            if exposure > max_sector:
                for s in members:
                    row[s] *= max_sector / exposure
        gross = sum(abs(w) for w in row)
        if gross > max_leverage:
            row = [w * (max_leverage / gross) for w in row]
        out[t] = row
    return out


def align(
    weights: np.ndarray, open_: np.ndarray, close: np.ndarray, fill: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Targets, execute, value, mark and tradable ``(T, S)``, all indexed by the filling bar.

    ``close``: a decision at bar t fills at bar t's close. ``next_open``: it fills at bar
    t+1's open, and holdings are valued at that open (or at the last close for a symbol
    without a bar). Missing bars cannot trade; prices of unlisted symbols read as 0.
    """
    steps, n = weights.shape
    tradable = np.isfinite(open_) & np.isfinite(close)
    closes = np.nan_to_num(forward_fill(close))
    opens = np.nan_to_num(forward_fill(open_))
    targets = np.zeros((steps, n))
    execute = np.zeros((steps, n))
    value = np.zeros((steps, n))
    for t in range(steps):
        for s in range(n):
            if fill == "close":
                targets[t, s] = weights[t, s]
                execute[t, s] = value[t, s] = closes[t, s]
            else:
                targets[t, s] = weights[t - 1, s] if t > 0 else 0.0
                execute[t, s] = opens[t, s]
                if tradable[t, s]:
                    value[t, s] = opens[t, s]
                else:
                    value[t, s] = closes[t - 1, s] if t > 0 else closes[t, s]
    return targets, execute, value, closes.copy(), tradable
