"""PBO (CSCV) and the Deflated Sharpe Ratio against the papers and a literal reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from engine.metrics import performance_metrics
from engine.optimize.overfitting import (
    STATS_OF,
    deflated_sharpe,
    deflated_sharpe_of_trials,
    expected_max_sharpe,
    metric_from_stats,
    moments,
    pbo_cscv,
    returns_to_blocks,
)


def test_dsr_matches_the_papers_numerical_example():
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", JPM 40(5), numerical
    example: N = 100 trials, annualized SR 2.5 with V[SR_n] = 0.5 (annualized), T = 1250
    daily returns (250 a year), skewness -3, kurtosis 10. The paper reports the expected
    maximum SR_0 ~ 0.1132 (per day) and DSR ~ 0.9004."""
    days = 250
    result = deflated_sharpe(
        sharpe=2.5 / math.sqrt(days),
        n_obs=1250,
        n_trials=100,
        sharpe_variance=0.5 / days,
        skewness=-3.0,
        kurtosis=10.0,
    )
    assert result.expected_max_sharpe == pytest.approx(0.1132, abs=5e-5)
    assert result.dsr == pytest.approx(0.9004, abs=5e-5)


@pytest.mark.parametrize(("n_trials", "tolerance"), [(10, 0.025), (100, 0.01), (1000, 0.005)])
def test_expected_max_sharpe_matches_simulated_maxima(n_trials, tolerance):
    """The False Strategy Theorem's approximation of E[max of N standard normals], which the
    DSR paper uses, is within 2.5 % (N=10), 1 % (N=100) and 0.5 % (N=1000) of a simulation."""
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, n_trials)).max(axis=1).mean()
    assert expected_max_sharpe(n_trials, 1.0) == pytest.approx(simulated, rel=tolerance)
    assert expected_max_sharpe(n_trials, 4.0) == pytest.approx(
        2 * expected_max_sharpe(n_trials, 1.0)
    )
    assert expected_max_sharpe(1, 1.0) == 0.0


def test_a_single_trial_is_the_probabilistic_sharpe_ratio():
    """With one trial SR_0 = 0 and DSR is PSR(0); normal returns: Phi(SR sqrt(T-1) / sqrt(1 +
    SR^2 / 2))."""
    result = deflated_sharpe(0.1, 101, 1, 0.0, 0.0, 3.0)
    assert result.dsr == pytest.approx(stats.norm.cdf(0.1 * 10 / math.sqrt(1.005)), rel=1e-12)


def test_block_sums_give_the_moments_and_metrics_of_the_returns():
    rng = np.random.default_rng(1)
    returns = 0.0005 + 0.01 * rng.standard_t(5, size=(501, 3))
    blocks = returns_to_blocks(returns, 6)
    totals = blocks.sum(axis=1)
    for j in range(3):
        n, mean, std, skew, kurt = moments(totals[j])
        r = returns[:, j]
        assert n == 501 and mean == pytest.approx(r.mean(), rel=1e-12)
        assert std == pytest.approx(r.std(ddof=1), rel=1e-9)
        assert skew == pytest.approx(stats.skew(r), rel=1e-8)
        assert kurt == pytest.approx(stats.kurtosis(r, fisher=True) + 3.0, rel=1e-8)
    equity = 100.0 * np.cumprod(np.vstack([np.ones((1, 3)), 1.0 + returns]), axis=0)
    reference = performance_metrics(equity.T, periods_per_year=252)
    for name in ("sharpe_ratio", "sortino_ratio", "total_return", "annual_return", "volatility"):
        np.testing.assert_allclose(
            metric_from_stats(totals, name, 252), reference[name], rtol=1e-9, err_msg=name
        )


def literal_cscv(returns: np.ndarray, n_blocks: int) -> tuple[float, np.ndarray]:
    """CSCV as written in Bailey et al. (2017), section 2: split the T x N matrix M into S row
    blocks; for each choice of S/2 blocks build J (in-sample rows) and its complement J-bar,
    take n* = argmax of the Sharpe ratios on J, its rank on J-bar (average ranks, rank 1 the
    lowest), w = rank / (N + 1), logit = ln(w / (1 - w)); PBO = share of logits <= 0."""
    t, n = returns.shape
    rows = np.array_split(np.arange(t), n_blocks)
    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        in_rows = np.concatenate([rows[b] for b in chosen])
        out_rows = np.setdiff1d(np.arange(t), in_rows)
        sharpe_in = returns[in_rows].mean(0) / returns[in_rows].std(0, ddof=1)
        sharpe_out = returns[out_rows].mean(0) / returns[out_rows].std(0, ddof=1)
        best = int(np.argmax(sharpe_in))
        omega = stats.rankdata(sharpe_out)[best] / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits


@pytest.mark.parametrize(("seed", "n_trials", "n_blocks"), [(0, 12, 8), (1, 40, 4), (2, 7, 10)])
def test_pbo_matches_the_literal_algorithm(seed, n_trials, n_blocks):
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.0004, n_trials)
    returns = skill + 0.01 * rng.standard_normal((400, n_trials))
    expected_pbo, expected_logits = literal_cscv(returns, n_blocks)
    result = pbo_cscv(returns_to_blocks(returns, n_blocks), "sharpe_ratio", 1.0)
    assert result.pbo == expected_pbo
    np.testing.assert_allclose(result.logits, expected_logits, rtol=1e-9)
    assert len(result.logits) == math.comb(n_blocks, n_blocks // 2)


def test_a_dominant_trial_is_not_overfit_and_noise_is_a_coin_flip():
    rng = np.random.default_rng(3)
    noise = 0.01 * rng.standard_normal((600, 20))
    skilled = noise.copy()
    skilled[:, 0] += 0.01  # trial 0 earns one standard deviation a day: best in every split
    assert pbo_cscv(returns_to_blocks(skilled, 8), "sharpe_ratio", 252).pbo == 0.0
    # Skill-less trials: the in-sample winner's out-of-sample rank is uniform, so PBO ~ 1/2
    pbos = [
        pbo_cscv(
            returns_to_blocks(0.01 * rng.standard_normal((400, 20)), 8), "sharpe_ratio", 252
        ).pbo
        for _ in range(30)
    ]
    assert 0.4 < np.mean(pbos) < 0.6


def test_pbo_of_a_minimized_metric_picks_the_lowest():
    rng = np.random.default_rng(4)
    scale = np.array([0.005, 0.01, 0.02, 0.04])
    returns = scale * rng.standard_normal((800, 4))
    low_is_good = pbo_cscv(returns_to_blocks(returns, 6), "volatility", 252, maximize=False)
    assert low_is_good.pbo == 0.0
    assert np.all(low_is_good.out_of_sample_of_best < 0.005 * math.sqrt(252) * 1.2)
    summary = low_is_good.describe()
    assert summary["n_combinations"] == 20 and summary["metric"] == "volatility"


def test_dsr_of_trials_uses_the_trials_sharpe_dispersion():
    rng = np.random.default_rng(5)
    returns = 0.0002 + 0.01 * rng.standard_normal((1000, 50))
    blocks = returns_to_blocks(returns, 10)
    sharpes = returns.mean(0) / returns.std(0, ddof=1)
    best = int(np.argmax(sharpes))
    result = deflated_sharpe_of_trials(blocks, best)
    assert result.sharpe == pytest.approx(sharpes[best], rel=1e-9)
    assert result.sharpe_variance == pytest.approx(np.var(sharpes, ddof=1), rel=1e-9)
    assert result.n_trials == 50 and result.n_obs == 1000
    # 50 skill-less-ish trials: the best one's Sharpe is about what chance alone delivers
    assert result.dsr < 0.9


def test_a_metric_reads_only_its_statistics():
    """CSCV sums only ``STATS_OF[metric]`` over its splits; the metric is the same number."""
    rng = np.random.default_rng(3)
    sums = returns_to_blocks(0.01 * rng.standard_normal((300, 6)), 4).sum(axis=1)
    sums[0] = 0.0  # an empty trial: undefined metrics stay undefined
    for metric, used in STATS_OF.items():
        columns = {name: i for i, name in enumerate(used)}
        picked = metric_from_stats(sums[:, list(used)], metric, 252, columns)
        np.testing.assert_array_equal(picked, metric_from_stats(sums, metric, 252), metric)
