"""Overfitting statistics of a search: PBO by CSCV and the Deflated Sharpe Ratio.

Both work from per-trial block statistics (``engine.optimize.evaluate.BLOCK_STATS``): the
returns of each trial are cut into ``S`` equal blocks and each block keeps its count and power
sums, so the statistics of any union of blocks are exact sums, with no return matrix stored.

- **PBO** (Bailey, Borwein, López de Prado, Zhu, "The Probability of Backtest Overfitting",
  J. Computational Finance 2017; SSRN 2326253): for each of the ``C(S, S/2)`` ways to pick
  half the blocks as in-sample (the rest out-of-sample), take the trial with the best
  in-sample metric, find its relative rank ``w = rank / (N + 1)`` out of sample (rank 1 is the
  worst of N, ties averaged) and its logit ``log(w / (1 - w))``. PBO is the share of splits
  with logit <= 0: how often the in-sample winner does no better than the median out of sample.
- **DSR** (Bailey, López de Prado, "The Deflated Sharpe Ratio", J. Portfolio Management 40(5),
  2014): the probability that the true Sharpe ratio of the selected trial exceeds the expected
  maximum Sharpe ratio of N skill-less trials, correcting for skewness, kurtosis and length.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from engine.optimize.evaluate import BLOCK_STATS

COUNT, SUM, SUM2, SUM3, SUM4, DOWNSIDE2, LOG_GROWTH = range(len(BLOCK_STATS))
EULER_GAMMA = 0.5772156649015329
CSCV_METRICS = ("sharpe_ratio", "sortino_ratio", "total_return", "annual_return", "volatility")
"""Metrics computable from block sums; CSCV ranks by the target when it is one of these and by
the Sharpe ratio otherwise (the statistic of the paper)."""
COMBINATION_CHUNK = 64


STATS_OF = {
    "sharpe_ratio": (COUNT, SUM, SUM2),
    "volatility": (COUNT, SUM, SUM2),
    "sortino_ratio": (COUNT, SUM, DOWNSIDE2),
    "total_return": (LOG_GROWTH,),
    "annual_return": (COUNT, LOG_GROWTH),
}
"""The block statistics each CSCV metric reads: CSCV sums only these over its splits."""
ALL_STATS = {stat: stat for stat in range(len(BLOCK_STATS))}


def metric_from_stats(
    stats: np.ndarray, metric: str, periods_per_year: float, columns: dict[int, int] = ALL_STATS
) -> np.ndarray:
    """A metric of the returns summarized by ``stats``: sums over blocks, ``(..., 7)`` in
    ``BLOCK_STATS`` order, or only the metric's ``STATS_OF`` at the positions ``columns`` gives."""
    if metric not in STATS_OF:
        raise ValueError(f"{metric!r} is not computable from block sums: {CSCV_METRICS}")

    def stat(name: int) -> np.ndarray:
        return stats[..., columns[name]]

    root = math.sqrt(periods_per_year)
    with np.errstate(all="ignore"):
        if metric == "total_return":
            return np.expm1(stat(LOG_GROWTH))
        n = stat(COUNT)
        if metric == "annual_return":
            return np.expm1(stat(LOG_GROWTH) * periods_per_year / n)
        mean = stat(SUM) / n
        if metric == "sortino_ratio":
            downside = np.sqrt(stat(DOWNSIDE2) / n)
            return mean * root / np.where(downside > 0, downside, np.nan)
        var = (stat(SUM2) - n * mean**2) / (n - 1)
        std = np.sqrt(np.where(var > 0, var, np.nan))
        return mean / std * root if metric == "sharpe_ratio" else std * root


def returns_to_blocks(returns: np.ndarray, n_blocks: int) -> np.ndarray:
    """``(T, N)`` per-period excess returns as ``(N, S, 7)`` block sums (numpy reference)."""
    from engine.optimize.evaluate import block_ids

    r = np.asarray(returns, dtype=np.float64)
    columns = np.stack(
        [np.ones_like(r), r, r**2, r**3, r**4, np.minimum(r, 0) ** 2, np.log1p(r)], axis=-1
    )
    ids = block_ids(r.shape[0], n_blocks)
    sums = np.stack([columns[ids == b].sum(axis=0) for b in range(n_blocks)])
    return np.swapaxes(sums, 0, 1)


@dataclass(frozen=True)
class PBOResult:
    pbo: float
    logits: np.ndarray  # one per split
    in_sample_best: np.ndarray  # the IS winner's IS metric, per split
    out_of_sample_of_best: np.ndarray  # the same trial's OOS metric, per split
    n_trials: int
    n_blocks: int
    metric: str

    def describe(self) -> dict:
        """JSON summary: PBO, the logit distribution, degradation and probability of loss."""
        slope, intercept = _degradation(self.in_sample_best, self.out_of_sample_of_best)
        oos = self.out_of_sample_of_best
        return {
            "pbo": self.pbo,
            "metric": self.metric,
            "n_trials": self.n_trials,
            "n_blocks": self.n_blocks,
            "n_combinations": len(self.logits),
            "logit_mean": float(np.mean(self.logits)),
            "logit_median": float(np.median(self.logits)),
            "performance_degradation": {"slope": slope, "intercept": intercept},
            "probability_of_oos_loss": float(np.mean(~(oos > 0))),
        }


def _degradation(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return None, None
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return float(slope), float(intercept)


def relative_rank(values: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Rank / (N + 1) of ``values[c, chosen[c]]`` in row ``c``: 1 is the worst; ties average."""
    picked = np.take_along_axis(values, chosen[:, None], axis=1)
    below = (values < picked).sum(axis=1)
    ties = (values == picked).sum(axis=1)
    return (below + (ties + 1) / 2.0) / (values.shape[1] + 1)


def pbo_cscv(
    blocks: np.ndarray, metric: str, periods_per_year: float, maximize: bool = True
) -> PBOResult:
    """PBO of ``N`` trials from their ``(N, S, 7)`` block sums; ``S`` even, ``N`` >= 2."""
    n_trials, n_blocks = blocks.shape[:2]
    if n_trials < 2 or n_blocks % 2:
        raise ValueError(f"CSCV needs >= 2 trials and an even block count, got {blocks.shape}")
    used = STATS_OF[metric]
    columns = {name: i for i, name in enumerate(used)}
    picked = blocks[..., used]  # the statistics the metric reads: less to sum per split
    total = picked.sum(axis=1)
    by_block = np.ascontiguousarray(picked.transpose(1, 0, 2)).reshape(n_blocks, -1)
    sign = 1.0 if maximize else -1.0
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    parts = []
    for start in range(0, len(combos), COMBINATION_CHUNK):
        mask = np.zeros((len(combos[start : start + COMBINATION_CHUNK]), n_blocks))
        np.put_along_axis(mask, combos[start : start + COMBINATION_CHUNK], 1.0, axis=1)
        in_sample = (mask @ by_block).reshape(len(mask), n_trials, -1)  # BLAS: 3x einsum
        out_of_sample = total[None] - in_sample
        parts.append(_split_scores(in_sample, out_of_sample, metric, periods_per_year, columns))
    is_scores = sign * np.concatenate([p[0] for p in parts])
    oos_scores = sign * np.concatenate([p[1] for p in parts])
    is_ranked = np.where(np.isfinite(is_scores), is_scores, -np.inf)
    oos_ranked = np.where(np.isfinite(oos_scores), oos_scores, -np.inf)
    best = np.argmax(is_ranked, axis=1)
    omega = relative_rank(oos_ranked, best)
    logits = np.log(omega / (1.0 - omega))
    rows = np.arange(len(best))
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        in_sample_best=sign * is_scores[rows, best],
        out_of_sample_of_best=sign * oos_scores[rows, best],
        n_trials=n_trials,
        n_blocks=n_blocks,
        metric=metric,
    )


def _split_scores(in_sample, out_of_sample, metric, ppy, columns):
    return (
        metric_from_stats(in_sample, metric, ppy, columns),
        metric_from_stats(out_of_sample, metric, ppy, columns),
    )


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """E[max SR] of ``n_trials`` skill-less trials (False Strategy Theorem), per period."""
    if n_trials < 2:
        return 0.0
    z1 = norm.ppf(1.0 - 1.0 / n_trials)
    z2 = norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe(
    sharpe: float, benchmark: float, n_obs: int, skewness: float, kurtosis: float
) -> float:
    """PSR: P(true SR > ``benchmark``) given an estimate from ``n_obs`` returns (per period)."""
    spread = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or not spread > 0:
        return math.nan
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(spread)))


@dataclass(frozen=True)
class DSRResult:
    dsr: float
    sharpe: float  # per period
    expected_max_sharpe: float  # SR0, per period
    n_trials: int
    n_obs: int
    skewness: float
    kurtosis: float
    sharpe_variance: float

    def describe(self, periods_per_year: float) -> dict:
        annual = math.sqrt(periods_per_year)
        return {
            "dsr": _json(self.dsr),
            "sharpe_ratio": _json(self.sharpe * annual),
            "expected_max_sharpe_ratio": _json(self.expected_max_sharpe * annual),
            "sharpe_per_period": _json(self.sharpe),
            "expected_max_sharpe_per_period": _json(self.expected_max_sharpe),
            "n_trials": self.n_trials,
            "n_observations": self.n_obs,
            "skewness": _json(self.skewness),
            "kurtosis": _json(self.kurtosis),
            "sharpe_variance_per_period": _json(self.sharpe_variance),
        }


def _json(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def deflated_sharpe(
    sharpe: float,
    n_obs: int,
    n_trials: int,
    sharpe_variance: float,
    skewness: float,
    kurtosis: float,
) -> DSRResult:
    """DSR of a selected per-period Sharpe ``sharpe`` among ``n_trials`` with that variance.

    ``kurtosis`` is the plain (not excess) fourth standardized moment: 3 for normal returns.
    """
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    dsr = probabilistic_sharpe(sharpe, sr0, n_obs, skewness, kurtosis)
    return DSRResult(dsr, sharpe, sr0, n_trials, n_obs, skewness, kurtosis, sharpe_variance)


def moments(stats: np.ndarray) -> tuple[int, float, float, float, float]:
    """``(n, mean, std (ddof 1), skewness, kurtosis)`` from summed stats ``(7,)``.

    Skewness and kurtosis are population moments (``m3 / m2**1.5``, ``m4 / m2**2``).
    """
    n = stats[COUNT]
    mean = stats[SUM] / n
    m2 = stats[SUM2] / n - mean**2
    m3 = stats[SUM3] / n - 3 * mean * stats[SUM2] / n + 2 * mean**3
    m4 = stats[SUM4] / n - 4 * mean * stats[SUM3] / n + 6 * mean**2 * stats[SUM2] / n - 3 * mean**4
    if not m2 > 0:
        return int(n), float(mean), math.nan, math.nan, math.nan
    std = math.sqrt(m2 * n / (n - 1))
    return int(n), float(mean), std, float(m3 / m2**1.5), float(m4 / m2**2)


def deflated_sharpe_of_trials(blocks: np.ndarray, chosen: int) -> DSRResult:
    """DSR of trial ``chosen`` among all trials, from their ``(N, S, 7)`` block sums."""
    totals = blocks.sum(axis=1)
    sharpes = metric_from_stats(totals, "sharpe_ratio", 1.0)  # per period
    finite = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    n, _, _, skew, kurt = moments(totals[chosen])
    return deflated_sharpe(float(sharpes[chosen]), n, len(blocks), variance, skew, kurt)
