"""`nautilus-bt data ...` on the embedded SQLite database."""

from __future__ import annotations

import json

from tests.unit.cli.conftest import GOOG


def test_import_list_and_validate(cli):
    code, out, _ = cli("data", "import", GOOG, "--symbol", "GOOG")
    assert code == 0 and json.loads(out)["inserted"] == 2148
    code, out, _ = cli("data", "symbols")
    assert out.split()[:4] == ["GOOG", "1d", "XNYS", "2148"]
    code, out, _ = cli("data", "validate", "GOOG", "--start", "2012-01-01", "--end", "2012-12-31")
    assert code == 0 and json.loads(out)["validation_summary"]["ready_for_backtest"] is True
    code, out, _ = cli("data", "validate", "GOOG", "--start", "2013-01-01", "--end", "2013-12-31")
    assert code == 1 and json.loads(out)["symbol_details"]["GOOG"]["missing_periods"]


def test_bad_file_is_refused_with_reasons_and_exit_1(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,5\nnope,1,2,1,2,5\n")
    code, out, err = cli("data", "import", str(bad), "--symbol", "BAD")
    assert code == 1 and "nothing was written" in err
    assert json.loads(out)["rejections"]["reasons"] == {"unparseable_time": 1}
    code, out, _ = cli("data", "symbols")
    assert "BAD" not in out


def test_missing_provider_key_is_exit_2_with_the_variable(cli):
    code, _, err = cli(
        "data", "fetch", "fred", "GDP", "--start", "2024-01-01", "--end", "2024-03-31"
    )
    assert code == 2 and "FRED_API_KEY" in err


def test_samples_import_once_and_a_local_backtest_reads_them(cli, tmp_path):
    code, out, _ = cli("data", "samples")
    assert code == 0 and "SPX: 5031 bars (5031 new" in out
    code, out, _ = cli("data", "samples")
    assert "IXIC: 5031 bars (0 new, 5031 unchanged)" in out
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(STORED_SPEC))
    code, out, err = cli("backtest", str(spec), "--output", "json")
    assert code == 0, err
    summary = json.loads(out)["execution_summary"]
    assert summary["data_source"] == "database" and not summary["synthetic_data"]


def test_a_local_backtest_without_data_names_the_import_command(cli, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**STORED_SPEC, "symbols": ["NOPE"], "benchmark_symbol": None}))
    code, _, err = cli("backtest", str(spec))
    assert code == 2 and "NOPE" in err and "nautilus-bt data import" in err
    spec.write_text(json.dumps({**STORED_SPEC, "data_sources": ["synthetic"]}))
    code, out, _ = cli("backtest", str(spec))
    assert code == 0 and "SYNTHETIC" in out


STORED_SPEC = {
    "backtest_name": "stored",
    "start_date": "2010-01-04",
    "end_date": "2010-12-31",
    "symbols": ["SPX", "IXIC"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {},
    "benchmark_symbol": "SPX",
}
