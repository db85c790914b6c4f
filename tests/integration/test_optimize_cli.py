"""`nautilus-bt optimize` scores a request as the service does: its trials equal the API's."""

from __future__ import annotations

import pytest

from cli.optimize import optimize_locally
from tests.integration.test_optimization_flow import TERMINAL, body, stored_trials, submit

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning"),
]


def test_local_trials_equal_the_workers(shared, sessions, wait_for):
    request = body(parameter_ranges={"fast_period": [3, 5, 8], "slow_period": [20, 30]})
    job_id = submit(shared, request)
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=180)
    assert row["status"] == "completed", row["error"]
    served = {r["idx"]: r for r in stored_trials(sessions, job_id)}

    local = optimize_locally(request, {}, repeat=1)

    assert len(local["trials"]) == len(served) == 6
    for trial in local["trials"]:
        stored = served[trial["index"]]
        assert trial["params"] == stored["params"]
        assert set(trial["scores"]) == set(stored["scores"])
        for window, scores in trial["scores"].items():
            assert scores == pytest.approx(stored["scores"][window], rel=1e-12, nan_ok=True)
    timing = local["timing"]
    assert timing["sets"] == 6 and len(timing["warm_s"]) == 1
    assert (
        local["document"]["parameters"]["optimized"]
        == shared.api.get(f"/optimization/{job_id}").get_json()["parameters"]["optimized"]
    )
