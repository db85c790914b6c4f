"""The best sets' equity curves: the single-backtest engine on the search's market."""

from __future__ import annotations

import numpy as np
import pytest

from engine.optimize.curves import best_set_curves, thinned
from engine.optimize.request import parse_optimization_request
from engine.optimize.results import ranked
from engine.optimize.run import optimize, spec_folds
from engine.optimize.windows import selection_window
from tests.unit.engine.optimize.markets import spec_payload, synthetic


def test_thinning_keeps_the_ends_and_bounds_the_points():
    assert thinned(5, 10).tolist() == [0, 1, 2, 3, 4]
    kept = thinned(100_001, 2000)
    assert len(kept) == 2000 and kept[0] == 0 and kept[-1] == 100_000
    assert np.all(np.diff(kept) > 0)


@pytest.mark.parametrize("scheme", ["none", "holdout"])
def test_curves_are_the_best_sets_rerun_over_the_whole_dates(scheme):
    request = parse_optimization_request(
        {
            "base_spec": spec_payload(),
            "parameter_ranges": {"fast_period": [3, 5, 8], "slow_period": [10, 20, 30]},
            "optimization_target": "total_return",
            "validation": {"scheme": scheme},
        }
    )
    market = synthetic()
    out = optimize(request, market)
    selection = selection_window(spec_folds(request, market))
    curves = best_set_curves(request, market, out["trials"], selection, n=3)

    top = ranked(out["trials"], request.target, selection.name)[:3]
    assert [c["index"] for c in curves["curves"]] == [t["index"] for t in top]
    assert [c["rank"] for c in curves["curves"]] == [1, 2, 3]
    bars = market.between(request.base_spec.start_date, request.base_spec.end_date).n_bars
    assert len(curves["timestamps"]) == bars  # every bar of the dates, under MAX_POINTS
    assert curves["selection_window"]["start"] == curves["timestamps"][selection.start]
    capital = request.base_spec.initial_capital
    for curve, trial in zip(curves["curves"], top, strict=True):
        assert curve["parameters"] == trial["params"]
        assert len(curve["equity"]) == bars
        assert curve["equity"][-1] == pytest.approx(curve["final_equity"], abs=1e-4)
        if scheme == "none":  # the trial was scored on these very bars
            growth = curve["final_equity"] / capital - 1.0
            assert growth == pytest.approx(trial["scores"]["full"]["total_return"], rel=1e-6)


def test_no_scored_set_gives_no_curve():
    request = parse_optimization_request(
        {"base_spec": spec_payload(), "parameter_ranges": {"fast_period": [3, 5]}}
    )
    market = synthetic()
    selection = selection_window(spec_folds(request, market))
    assert best_set_curves(request, market, [], selection)["curves"] == []
