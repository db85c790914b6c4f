"""Strategies users bring, through the API and real workers: a sweep over a rules document's
named parameters, a strategy from the installed example package, and hostile documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.backtest import required_symbols, run_backtest
from engine.data import synthetic_market
from engine.spec import parse_spec
from tests.integration.test_optimization_flow import TERMINAL, body, submit

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning"),
]
ROOT = Path(__file__).resolve().parents[2]
SMA_RULES = json.loads((ROOT / "examples" / "goog_sma_rules.json").read_text())["strategy"]


@pytest.fixture
def patient(deploy) -> object:
    """A deployment whose tasks may run long enough to compile a new document's fused kernel
    on a loaded machine (the test suite's tasks are limited to 110 s), without the warm-up
    thread compiling the built-ins at the same time."""
    service = deploy(
        NAUTILUS_TASK_SOFT_TIME_LIMIT="1200",
        NAUTILUS_TASK_TIME_LIMIT="1210",
        NAUTILUS_VISIBILITY_TIMEOUT="1300",
        NAUTILUS_KERNEL_WARMUP="0",
    )
    service.workers.start(concurrency=1)
    return service


def test_a_sweep_over_a_rules_documents_parameters(patient, wait_for):
    request = body()
    request["base_spec"] |= {
        "strategy_id": "rules",
        "strategy": SMA_RULES,
        "strategy_parameters": {"fast": 5, "slow": 20},
    }
    request["parameter_ranges"] = {"fast": [3, 5, 8], "slow": [20, 40]}
    job_id = submit(patient, request)
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=1200)
    assert row["status"] == "completed", row["error"]
    document = patient.api.get(f"/optimization/{job_id}").get_json()
    assert document["optimization_summary"]["iterations_completed"] == 6
    best = document["parameters"]["optimized"]
    assert best["fast"] in (3, 5, 8) and best["slow"] in (20, 40)


def test_a_package_strategy_runs_through_the_api_and_records_its_package(
    shared, make_spec, wait_for
):
    listing = shared.api.get("/strategies").get_json()
    (package,) = [p for p in listing["packages"] if p["name"] == "nautilus-example-strategies"]
    assert package["error"] is None and "ema_crossover" in package["strategies"]
    by_id = {s["strategy_id"]: s for s in listing["strategies"]}
    assert by_id["ema_crossover"]["package"] == "nautilus-example-strategies"
    assert by_id["ema_crossover"]["parameters"]["fast_period"]["default"] == 12
    assert {"sma", "ema", "rsi", "atr", "bollinger_upper"} <= {
        i["name"] for i in listing["rules"]["indicators"]
    }

    spec = make_spec(strategy_id="ema_crossover", strategy_parameters={"fast_period": 5})
    response = shared.api.post("/backtests", json=spec)
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["execution_id"]
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=600)
    assert row["status"] == "completed", row["error"]
    results = shared.api.get(f"/backtests/{job_id}/results").get_json()
    recorded = results["execution_summary"]["strategy"]
    assert recorded["package"] == "nautilus-example-strategies"
    assert recorded["package_version"] == package["version"]
    parsed = parse_spec(spec)
    market = synthetic_market(
        required_symbols(parsed), parsed.start_date, parsed.end_date, seed=parsed.data_seed
    )
    expected = run_backtest(parsed, market)
    assert results["execution_summary"]["equity_final"] == pytest.approx(
        float(expected.equity[-1]), rel=1e-9
    )


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            {"long": {"entry": {"gt": ["__import__('os').system('id')", 1]}}},
            "strategy.long.entry.gt[0]",
        ),
        ({"long": {"entry": {"lambda: 0": [1, 2]}}}, "strategy.long.entry.lambda: 0"),
        ({"long": {"entry": {"gt": [{"sma": [10**9]}, 1]}}}, "strategy.long.entry.gt[0].sma[0]"),
        ({"long": {"entry": {"gt": [{"smaa": [10]}, 1]}}}, "strategy.long.entry.gt[0].smaa"),
    ],
)
def test_hostile_documents_get_a_422_naming_the_field(shared, make_spec, document, field):
    spec = make_spec(strategy_id="rules", strategy=document, strategy_parameters={})
    response = shared.api.post("/backtests", json=spec)
    assert response.status_code == 422, response.get_json()
    assert field in json.dumps(response.get_json())


def test_deeply_nested_documents_are_refused_before_any_parsing(shared, make_spec):
    node: object = {"gt": ["close", 1]}
    for _ in range(40):
        node = {"not": [node]}
    spec = make_spec(
        strategy_id="rules", strategy={"long": {"entry": node}}, strategy_parameters={}
    )
    assert shared.api.post("/backtests", json=spec).status_code in (400, 422)
