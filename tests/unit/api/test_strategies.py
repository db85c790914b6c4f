"""``GET /strategies``: every registered strategy with its schema, version and aliases."""

from __future__ import annotations

from engine.strategies import get_strategy, strategy_ids


def test_lists_every_strategy_with_its_schema(client):
    response = client.get("/strategies")
    assert response.status_code == 200
    listed = {s["strategy_id"]: s for s in response.get_json()["strategies"]}
    assert set(listed) == {*strategy_ids(), "target_weights"}
    momentum = listed["momentum_factor"]
    assert "momentum_factor_v2.1" in momentum["aliases"] and momentum["version"]
    lookback = momentum["parameters"]["lookback_period"]
    assert lookback["type"] == "int" and lookback["default"] == 20 and lookback["minimum"] >= 1
    assert "fast_period must be smaller than slow_period" in listed["sma_crossover"]["constraints"]


def test_one_strategy_by_alias_and_an_unknown_one_is_a_404(client):
    body = client.get("/strategies/momentum_factor_v2.1").get_json()
    assert body == get_strategy("momentum_factor").describe()
    missing = client.get("/strategies/momentum_factr")
    assert missing.status_code == 404
    assert "Did you mean 'momentum_factor'" in missing.get_json()["message"]


def test_documented(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/strategies", "/strategies/{strategy_id}"} <= set(paths)


def test_target_weights_is_listed_with_the_signal_set_it_requires(client):
    listed = {s["strategy_id"]: s for s in client.get("/strategies").get_json()["strategies"]}
    weights = listed["target_weights"]
    assert weights["requires"] == ["signal_set_id"] and weights["parameters"] == {}
    assert weights["version"] and weights["package"] is None
    assert client.get("/strategies/target_weights").get_json() == weights
    assert "requires" not in listed["sma_crossover"]
