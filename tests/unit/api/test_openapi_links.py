"""The served document's links (``api.openapi.LINKS``): from each answer that carries a job's or
a signal set's id to every operation that takes it. They are what schemathesis's stateful run
follows (``tests/integration/test_fuzz.py``), so they must not silently disappear or point at
an operation, a parameter or a field that is not there."""

from __future__ import annotations

import pytest

from api.openapi import LINKS


@pytest.fixture(scope="module")
def document(unit_store) -> dict:
    from api import create_app

    return create_app(unit_store[0]).test_client().get("/openapi.json").get_json()


def resolve(document: dict, pointer: str) -> dict:
    """A local JSON pointer (``#/paths/~1backtests/post``) in ``document``."""
    node = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def answer(document: dict, method: str, path: str, status: str) -> dict:
    response = document["paths"][path][method]["responses"][status]
    return resolve(document, response["$ref"]) if "$ref" in response else response


def test_a_submitted_backtest_links_to_every_operation_on_its_id(document):
    links = answer(document, "post", "/backtests", "202")["links"]
    assert {name: (link["operationRef"], link["parameters"]) for name, link in links.items()} == {
        "status": ("#/paths/~1backtests~1{execution_id}/get",
                   {"execution_id": "$response.body#/execution_id"}),
        "results": ("#/paths/~1backtests~1{execution_id}~1results/get",
                    {"execution_id": "$response.body#/execution_id"}),
        "report": ("#/paths/~1backtests~1{execution_id}~1report/get",
                   {"execution_id": "$response.body#/execution_id"}),
        "table": ("#/paths/~1backtests~1{execution_id}~1{table}/get",
                  {"execution_id": "$response.body#/execution_id"}),
        "cancel": ("#/paths/~1backtests~1{execution_id}~1cancel/post",
                   {"execution_id": "$response.body#/execution_id"}),
        "cancel_job": ("#/paths/~1jobs~1{job_id}~1cancel/post",
                       {"job_id": "$response.body#/execution_id"}),
    }  # fmt: skip


@pytest.mark.parametrize(("method", "path", "status"), list(LINKS), ids=" ".join)
def test_every_link_is_served_and_leads_to_a_path_parameter_of_a_served_operation(
    document, method, path, status
):
    field, targets = LINKS[(method, path, status)]
    links = answer(document, method, path, status)["links"]
    assert set(links) == set(targets)
    for name, link in links.items():
        target_method, target_path = targets[name].split(" ", 1)
        operation = resolve(document, link["operationRef"])
        assert operation is document["paths"][target_path][target_method.lower()]
        (parameter, expression), *more = link["parameters"].items()
        assert not more and expression == f"$response.body#/{field}"
        declared = [*document["paths"][target_path].get("parameters", []),
                    *operation.get("parameters", [])]  # fmt: skip
        assert {"in": "path", "name": parameter} in [
            {"in": p["in"], "name": p["name"]} for p in declared
        ], (name, declared)


@pytest.mark.parametrize(("method", "path", "status"), list(LINKS), ids=" ".join)
def test_the_linked_id_is_a_field_of_the_documented_answer(document, method, path, status):
    field, _ = LINKS[(method, path, status)]
    schema = answer(document, method, path, status)["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = resolve(document, schema["$ref"])
    assert field in schema["properties"]
    assert schema["properties"][field]["type"] == "string"
