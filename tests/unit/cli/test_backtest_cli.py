"""`nautilus-bt backtest` with uploaded target weights: from a file, or stored by id."""

from __future__ import annotations

import json

import pytest

from cli.data import sessions
from engine.backtest import run_backtest
from engine.spec import parse_spec
from store.bars.files import market_from_files
from store.db import transaction
from store.signal_import import parse_signals
from store.signal_sets import save_signal_set
from tests.unit.cli.conftest import GOOG

# Two symbols on GOOG's bars: 60 % / 40 % from the first day, 20 % / 10 % short from March.
WEIGHTS = "date,symbol,weight\n2010-01-04,G1,0.6\n2010-01-04,G2,0.4\n2010-03-01,G2,-0.1\n"
SPEC = {
    "backtest_name": "weights from the CLI",
    "start_date": "2010-01-04",
    "end_date": "2010-06-30",
    "symbols": ["G1", "G2"],
    "strategy_id": "target_weights",
    "strategy_parameters": {},
    "initial_capital": 10000,
    "commission_rate": 0.001,
    "exits": {"stop_loss": 0.05},
    "data_sources": ["file"],
}
BARS = ("--bars", f"G1={GOOG}", "--bars", f"G2={GOOG}")


@pytest.fixture
def files(tmp_path):
    spec, weights = tmp_path / "spec.json", tmp_path / "weights.csv"
    spec.write_text(json.dumps(SPEC))
    weights.write_text(WEIGHTS)
    return spec, weights


def _direct():
    market = market_from_files({"G1": GOOG, "G2": GOOG})
    weights = parse_signals(WEIGHTS.encode(), "w.csv").weights
    return run_backtest(parse_spec(SPEC), market, signals=weights)


def test_signals_file_runs_as_the_engine_does(cli, files):
    spec, weights = files
    code, out, err = cli("backtest", str(spec), "--signals", str(weights), *BARS,
                         "--output", "json", "--no-progress")  # fmt: skip
    assert code == 0, err
    document, direct = json.loads(out), _direct()
    summary = document["execution_summary"]
    assert summary["strategy"]["strategy_id"] == "target_weights"
    assert summary["equity_final"] == pytest.approx(direct.equity[-1], rel=1e-12)
    assert document["trades_summary"]["total_trades"] == len(direct.closed_trades) > 0


def test_a_stored_signal_set_is_read_by_its_id(cli, files, tmp_path):
    spec, _ = files
    with transaction(sessions()) as session:
        weights = parse_signals(WEIGHTS.encode(), "w.csv").weights
        set_id = save_signal_set(session, "alice", "model", "1d", weights).id
    spec.write_text(json.dumps({**SPEC, "signal_set_id": set_id}))
    code, out, err = cli("backtest", str(spec), *BARS, "--output", "json", "--no-progress")
    assert code == 0, err
    summary = json.loads(out)["execution_summary"]
    assert summary["strategy"]["signal_set_id"] == set_id
    assert summary["equity_final"] == pytest.approx(_direct().equity[-1], rel=1e-12)

    spec.write_text(json.dumps({**SPEC, "signal_set_id": "nope"}))
    code, _, err = cli("backtest", str(spec), *BARS, "--no-progress")
    assert code == 2 and "no signal set 'nope'" in err


def test_missing_or_bad_signals_are_named(cli, files, tmp_path):
    spec, _ = files
    code, _, err = cli("backtest", str(spec), *BARS, "--no-progress")
    assert code == 2 and "--signals FILE or a signal_set_id" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,weight\n2010-01-04,G1,99\n")
    code, _, err = cli("backtest", str(spec), "--signals", str(bad), *BARS, "--no-progress")
    assert code == 2 and "weight_out_of_range" in err
