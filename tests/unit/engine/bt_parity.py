"""Comparing our results document with a backtesting.py 0.6.6 run, trade for trade."""

from __future__ import annotations

import pandas as pd
import pytest


def assert_trades_match(theirs: pd.DataFrame, mine: list[dict]) -> None:
    """Every closed trade: times, bars, side, size, prices, P&L, commission and return."""
    assert len(mine) == len(theirs)
    for i, (row, trade) in enumerate(zip(theirs.itertuples(), mine, strict=True)):
        where = f"trade {i}: {trade}"
        assert trade["entry_time"] == row.EntryTime.strftime("%Y-%m-%dT%H:%M:%SZ"), where
        assert trade["exit_time"] == row.ExitTime.strftime("%Y-%m-%dT%H:%M:%SZ"), where
        assert (trade["entry_bar"], trade["exit_bar"]) == (row.EntryBar, row.ExitBar), where
        assert trade["side"] == ("long" if row.Size > 0 else "short"), where
        assert trade["size"] == abs(row.Size), where
        assert trade["entry_price"] == pytest.approx(row.EntryPrice, abs=1e-6), where
        assert trade["exit_price"] == pytest.approx(row.ExitPrice, abs=1e-6), where
        assert trade["pnl"] == pytest.approx(row.PnL, abs=1e-6), where
        assert trade["commission"] == pytest.approx(row.Commission, abs=1e-6), where
        assert trade["return_pct"] / 100 == pytest.approx(row.ReturnPct, rel=1e-9), where
