"""The published request schemas come from the fields the parsers read: they cannot drift."""

from __future__ import annotations

import pytest

from engine.errors import SpecError
from workers.kinds import KINDS


@pytest.fixture
def components(client) -> dict:
    return client.get("/openapi.json").get_json()["components"]["schemas"]


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_every_kind_documents_its_request_body(client, components, kind):
    schema = components[kind.schema_name]
    assert schema["additionalProperties"] is False and schema["properties"]
    paths = client.get("/openapi.json").get_json()["paths"]
    body = paths[kind.path if kind.name != "optimization" else "/optimization/parameters"]
    ref = body["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/" + kind.schema_name)


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_an_undocumented_field_is_refused_and_every_documented_one_is_known(components, kind):
    parse = kind.parse_request()
    with pytest.raises(SpecError) as refused:
        parse({"surely_not_a_field": 1})
    assert "surely_not_a_field" in refused.value.errors
    for name in components[kind.schema_name]["properties"]:
        with pytest.raises(SpecError) as caught:
            parse({name: object()})  # a value nobody accepts: named, but never as unknown
        assert not any("unknown field" in m for m in caught.value.errors.get(name, []))


def test_the_backtest_schema_has_the_engine_s_fields_and_bounds(components):
    schema = components["BacktestRequest"]
    assert {"fill", "fractional_shares", "fee_per_order", "sectors", "data_seed"} <= set(
        schema["properties"]
    )
    commission = schema["properties"]["commission_rate"]
    assert (commission["minimum"], commission["maximum"], commission["default"]) == (0, 0.1, 0.001)
    assert schema["properties"]["frequency"]["enum"] == ["1m", "5m", "15m", "30m", "1h", "1d"]
    assert set(schema["required"]) == {
        "backtest_name", "start_date", "end_date", "symbols", "strategy_id", "strategy_parameters",
    }  # fmt: skip
