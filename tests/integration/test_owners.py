"""Two owners through the API, the event stream and the remote CLI: neither sees nor touches the
other's jobs (another owner's job is a 404, as an unknown one); an admin sees both."""

from __future__ import annotations

import json
import time

import pytest
import requests

from cli.main import main
from tests.integration.http_server import serve

pytestmark = pytest.mark.integration
SMA = {"strategy_id": "sma_crossover", "strategy_parameters": {"fast_period": 5, "slow_period": 20}}


@pytest.fixture(scope="module")
def owners(shared, make_spec_module):
    """Alice's and Bob's clients, each with one completed backtest of their own."""
    alice = shared.client(shared.create_key("alice"))
    bob = shared.client(shared.create_key("bob"))
    jobs = {}
    for name, client in (("alice", alice), ("bob", bob)):
        response = client.post("/backtests", json=make_spec_module(**SMA))
        assert response.status_code == 202, response.get_json()
        jobs[name] = response.get_json()["execution_id"]
    for name, client in (("alice", alice), ("bob", bob)):
        wait_completed(client, jobs[name])
    return {"alice": alice, "bob": bob, "jobs": jobs}


@pytest.fixture(scope="module")
def make_spec_module():
    from tests.integration.conftest import spec

    return spec


def wait_completed(client, job_id: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/backtests/{job_id}").get_json()["status"]
        if status in ("completed", "failed", "cancelled"):
            assert status == "completed"
            return
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not complete")


def job_routes(app, job_id: str) -> list[tuple[str, str]]:
    """Every (method, URL) of the API that names a job in its path, for ``job_id``."""
    routes = []
    for rule in app.url_map.iter_rules():
        names = [a for a in rule.arguments if a.endswith("_id")]
        if len(names) != 1 or names[0] == "strategy_id":
            continue
        values = {names[0]: job_id, "table": "equity"}
        url = rule.build(values, append_unknown=False)[1]
        routes += [(m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_every_job_route_is_a_404_for_another_owner(shared, owners):
    alice_job = owners["jobs"]["alice"]
    routes = job_routes(shared.app, alice_job)
    assert len(routes) >= 10, routes
    for method, url in routes:
        answer = owners["bob"].open(url, method=method)
        assert answer.status_code == 404, (method, url, answer.get_json())
        assert alice_job in answer.get_json()["message"]
    assert owners["bob"].get(f"/events?job={alice_job}").status_code == 404
    for method, url in routes:  # the owner and an admin still read each of them
        if method == "GET" and url.startswith("/backtests/"):
            assert owners["alice"].get(url).status_code == 200, url
            assert shared.api.get(url).status_code == 200, url
    assert shared.api.get(f"/backtests/{alice_job}").get_json()["status"] == "completed"


def test_lists_queries_and_leaderboards_hold_only_the_callers_jobs(shared, owners):
    alice_job, bob_job = owners["jobs"]["alice"], owners["jobs"]["bob"]

    def ids(client) -> set[str]:
        listed = {j["id"] for j in client.get("/jobs?limit=500").get_json()["items"]}
        board = {e["id"] for e in client.get("/leaderboard?limit=200").get_json()["items"]}
        query = client.post("/backtests/query", json={"page_size": 200}).get_json()["items"]
        assert listed >= board
        return listed | board | {j["execution_id"] for j in query}

    assert bob_job in ids(owners["bob"]) and alice_job not in ids(owners["bob"])
    assert alice_job in ids(owners["alice"]) and bob_job not in ids(owners["alice"])
    assert {alice_job, bob_job} <= ids(shared.api)


def test_requests_cannot_name_another_owners_backtest(owners):
    stress = {"backtest_id": owners["jobs"]["alice"], "monte_carlo_iterations": 100}
    answer = owners["bob"].post("/stress-test", json=stress)
    assert answer.status_code == 422 and "backtest_id" in answer.get_json()["errors"]
    assert owners["alice"].post("/stress-test", json=stress).status_code == 202


def test_the_event_stream_carries_only_the_callers_jobs(shared, owners):
    with serve(shared.app) as url:
        for me, other in (("alice", "bob"), ("bob", "alice")):
            key = owners[me].environ_base["HTTP_AUTHORIZATION"]
            seen = stream_job_ids(url, key, until=owners["jobs"][me])
            assert owners["jobs"][me] in seen and owners["jobs"][other] not in seen


def stream_job_ids(url: str, authorization: str, until: str, timeout: float = 30.0) -> set[str]:
    """Job ids of the stream's events from its start, read until ``until`` completes."""
    headers = {"Authorization": authorization, "Last-Event-ID": "0-0"}
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    with requests.get(f"{url}/events", headers=headers, stream=True, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                event = json.loads(line[5:])
                seen.add(event["job_id"])
                if event["job_id"] == until and event["type"] == "backtest_complete":
                    return seen
            assert time.monotonic() < deadline, "the stream never delivered the completion"
    return seen


def test_the_remote_cli_sees_only_the_callers_jobs(shared, owners, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich's table shows whole ids
    bob_key = owners["bob"].environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    alice_job = owners["jobs"]["alice"]
    with serve(shared.app) as url:
        for command in ("status", "cancel"):
            assert main([command, alice_job, "--url", url, "--api-key", bob_key]) == 2
            assert "404" in capsys.readouterr().err
        assert main(["list", "--url", url, "--api-key", bob_key, "--limit", "500"]) == 0
        listing = capsys.readouterr().out
        assert owners["jobs"]["bob"] in listing and alice_job not in listing
        assert main(["status", alice_job, "--url", url]) == 2  # no key at all
        assert "401" in capsys.readouterr().err


def test_market_data_is_read_by_every_owner_and_written_by_admins_only(shared, owners):
    body = {"symbol": "OWNEDX", "bars": [{"timestamp": "2024-01-02", "open": 1, "high": 1,
                                         "low": 1, "close": 1, "volume": 1}]}  # fmt: skip
    refused = owners["alice"].post("/data/bars", json=body)
    assert refused.status_code == 403 and "admin" in refused.get_json()["message"]
    assert shared.api.post("/data/bars", json=body).status_code == 200
    listed = owners["bob"].get("/data/symbols").get_json()
    assert "OWNEDX" in json.dumps(listed)
