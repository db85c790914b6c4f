"""The fan chart's reduction: per-day percentiles, day 0 the start value."""

from __future__ import annotations

import numpy as np

from engine.stress.fan import FAN_PERCENTILES, fan_document


def test_each_day_holds_the_percentiles_of_the_paths_values():
    values = np.arange(1.0, 101.0)[:, None] * np.array([1.0, 2.0, 3.0])  # 100 paths, 3 days
    fan = fan_document(values, 50.0)
    assert fan["paths"] == 100 and fan["days"] == [0, 1, 2, 3]
    assert list(fan["percentiles"]) == [f"p{p}" for p in FAN_PERCENTILES]
    assert all(series[0] == 50.0 for series in fan["percentiles"].values())
    assert fan["percentiles"]["p50"][1:] == [50.5, 101.0, 151.5]
    assert fan["percentiles"]["p5"][1] == np.percentile(np.arange(1.0, 101.0), 5).round(2)
    for day in range(1, 4):
        column = [fan["percentiles"][f"p{p}"][day] for p in FAN_PERCENTILES]
        assert column == sorted(column)
