"""The Python client and the remote CLI against the running service: a backtest, an
optimization and a stress test end to end, with progress, results, exports and reports."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from cli.main import main
from client import Client, ClientError, Job
from tests.integration.http_server import serve

pytestmark = pytest.mark.integration

OPTIMIZATION = {
    "parameter_ranges": {"fast_period": [3, 5, 8], "slow_period": [20, 40]},
    "optimization_target": "sharpe_ratio",
    "validation": {"scheme": "holdout", "out_of_sample_fraction": 0.3},
}
SMA = {"strategy_id": "sma_crossover", "strategy_parameters": {"fast_period": 5, "slow_period": 20}}


@pytest.fixture(scope="module")
def url(shared):
    with serve(shared.app) as address:
        yield address


def test_client_runs_a_backtest_with_progress_and_reads_every_table(url, key, make_spec, tmp_path):
    client = Client(url, api_key=key)
    job = client.submit_backtest(make_spec())
    seen: list[tuple[float, str]] = []
    final = client.wait(job, progress=lambda f, m="": seen.append((f, m)))
    assert final["status"] == "completed"
    assert seen and seen[-1][0] == 1.0 and len({f for f, _ in seen}) >= 2

    results = client.results(job)
    equity = results.equity.to_pandas()
    assert len(equity) == 262 and equity["equity"].iloc[-1] == pytest.approx(
        results.document["equity_final"]
    )
    assert list(results.document)[:3] == ["backtest_name", "backtest_type", "execution_summary"]
    trades = results.trades.to_pandas()
    for fmt in ("csv", "parquet", "json"):
        exported = client.table(job, "trades", fmt)
        assert list(exported.columns) == list(trades.columns) and len(exported) == len(trades)
    assert len(client.table(job, "positions")) == 262
    assert results.statistics["total_trades"] == len(trades)

    path = client.report(job, tmp_path / "report.html")
    page = path.read_text()
    assert "<script src=" not in page and 'id="equity"' in page


def test_client_runs_an_optimization_and_a_stress_test(url, key, make_spec):
    client = Client(url, api_key=key)
    base = client.submit_backtest(make_spec(**SMA))
    assert client.wait(base, progress=False)["status"] == "completed"
    opt = client.optimize({"base_spec": make_spec(**SMA), **OPTIMIZATION})
    fractions: list[float] = []
    final = client.wait(opt, progress=lambda f, m="": fractions.append(f))
    assert final["status"] == "completed", final["error"]
    assert fractions and fractions[-1] == 1.0
    report = client.request("GET", f"/optimization/{opt.id}/report").text
    assert 'id="heatmap"' in report and "Deflated Sharpe ratio" in report

    stress = client.stress_test(
        {
            "backtest_id": base.id,
            "scenarios": ["2008_financial_crisis"],
            "monte_carlo_iterations": 2000,
            "horizon_days": 60,
        }
    )
    assert client.wait(stress, progress=False)["status"] == "completed"
    report = client.request("GET", f"/stress-test/{stress.id}/report").text
    assert 'id="histogram"' in report and "2008_financial_crisis" in report
    assert "Value over the horizon" in report and "first 1,000 of the base run" in report


def test_jobs_leaderboard_and_cancel(url, key, make_spec):
    client = Client(url, api_key=key)
    job = client.submit_backtest(make_spec())
    client.wait(job, progress=False)
    assert any(j["id"] == job.id for j in client.jobs(kind="backtest", status="completed"))
    board = client.leaderboard("max_drawdown")
    values = [abs(e["value"]) for e in board["items"] if e["value"] is not None]
    assert values == sorted(values) and board["unit"] == "%"
    with pytest.raises(Exception, match="409"):
        client.cancel(job)
    client.delete(job)  # ended: it goes, with its results
    with pytest.raises(ClientError, match="404"):
        client.status(job)
    queued = client.submit_backtest(make_spec())
    try:
        client.delete(queued)  # the worker may have run it already: then it just goes
    except ClientError as exc:
        assert exc.status == 409 and "cancel it first" in exc.body["message"]


def test_events_replay_a_finished_job_and_resume_after_an_id(url, key, make_spec):
    client = Client(url, api_key=key)
    job = client.submit_backtest(make_spec())
    client.wait(job, progress=False)
    replayed = list(client.events(job, timeout=30))
    assert [e["type"] for e in replayed] == ["backtest_start", "backtest_complete"]
    with client.session.get(
        f"{url}/events",
        params={"job": job.id},
        stream=True,
        headers={"Last-Event-ID": "9999999999999-0"},
        timeout=5,
    ) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert next(r.iter_lines(decode_unicode=True)).startswith("retry:")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_remote_cli_runs_all_three_kinds(url, key, make_spec, tmp_path, capsys):
    spec = tmp_path / "bt.json"
    spec.write_text(json.dumps(make_spec(**SMA)))
    code, out, err = _cli(
        capsys,
        "submit",
        str(spec),
        "--wait",
        "--url",
        url,
        "--api-key",
        key,
        "--report",
        str(tmp_path / "bt.html"),
    )
    assert code == 0, err
    job_id = out.splitlines()[0]
    assert job_id.startswith("bt_") and "100.0%" in err and "Total return" in out
    assert (tmp_path / "bt.html").stat().st_size > 3_000_000

    code, out, _ = _cli(capsys, "status", job_id, "--url", url, "--api-key", key)
    assert json.loads(out)["status"] == "completed"
    code, out, _ = _cli(
        capsys,
        "results",
        job_id,
        "--url",
        url,
        "--api-key",
        key,
        "--format",
        "csv",
        "--table",
        "trades",
    )
    assert code == 0 and list(pd.read_csv(io.StringIO(out)).columns)[:2] == ["symbol", "side"]
    code, out, _ = _cli(capsys, "list", "--sort", "sharpe_ratio", "--url", url, "--api-key", key)
    assert code == 0 and "Leaderboard by Sharpe ratio" in out

    optimization = tmp_path / "opt.json"
    optimization.write_text(json.dumps({"base_spec": make_spec(**SMA), **OPTIMIZATION}))
    code, out, err = _cli(
        capsys, "submit", str(optimization), "--wait", "--url", url, "--api-key", key
    )
    assert code == 0 and out.startswith("opt_"), err
    stress = tmp_path / "st.json"
    stress.write_text(
        json.dumps({"backtest_id": job_id, "monte_carlo_iterations": 1000, "horizon_days": 20})
    )
    code, out, err = _cli(capsys, "submit", str(stress), "--wait", "--url", url, "--api-key", key)
    assert code == 0 and out.startswith("st_") and "100.0%" in err, err
    stress_id = out.strip()
    code, out, _ = _cli(capsys, "watch", stress_id, "--url", url, "--api-key", key)
    assert code == 0 and "completed" in out
    code, _, err = _cli(capsys, "cancel", job_id, "--url", url, "--api-key", key)
    assert code == 2 and "409" in err
    code, _, err = _cli(capsys, "delete", stress_id, "--url", url, "--api-key", key)
    assert code == 0 and f"{stress_id} deleted" in err
    code, _, err = _cli(capsys, "status", stress_id, "--url", url, "--api-key", key)
    assert code == 2 and "404" in err
    assert Job.of("st_x").kind == "stress_test"
