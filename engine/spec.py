"""The run spec: one frozen, serialisable object that fully describes a backtest.

Its fields are those of the seed's ``POST /backtests`` body plus ``fill``,
``fractional_shares``, ``fee_per_order``, ``sectors``, ``exits`` and ``data_seed``.
``parse_spec`` is the only way in: it checks every field once and reports all problems
together, each under its field name with how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from engine import signals
from engine.canonical import Canonical
from engine.data.sources import SYNTHETIC, resolve_source
from engine.errors import SpecError
from engine.fields import Field, object_schema, read_fields
from engine.metrics import PERIODS_PER_YEAR
from engine.requests import JobLabels, Resolver, data_window, estimate_bars
from engine.signals import TARGET_WEIGHTS
from engine.spec_fields import FieldChecker, dataclass_defaults
from engine.strategies import Strategy, strategy_for
from engine.strategies.rules import RulesStrategy, document_schema

FREQUENCIES = ("1m", "5m", "15m", "30m", "1h", "1d")
FILLS = ("next_open", "close")
RISK_LIMITS = ("max_single_position", "max_sector_exposure")
ACCELERATION_HINTS = ("use_neural_engine", "use_vectorized_calculations", "parallel_processing")
MAX_SYMBOLS = 1000


@dataclass(frozen=True)
class BacktestSpec(Canonical):
    """Everything that determines a backtest's numbers (and a few labels that do not)."""

    backtest_name: str
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    symbols: tuple[str, ...]
    strategy_id: str
    strategy_parameters: Mapping[str, Any]
    strategy: Mapping[str, Any] | None = None  # the rules document of strategy_id "rules"
    backtest_type: str = "strategy_validation"
    description: str = ""
    frequency: str = "1d"
    timezone: str = "UTC"
    universes: tuple[str, ...] = ()
    data_sources: tuple[str, ...] = ("database",)
    initial_capital: float = 100_000.0
    max_position_size: float = 1.0
    max_portfolio_leverage: float = 1.0
    risk_limits: Mapping[str, float] = field(default_factory=dict)
    commission_rate: float = 0.001
    slippage_basis_points: float = 0.0
    fee_per_order: float = 0.0
    benchmark_symbol: str | None = None
    risk_free_rate: float = 0.0
    fill: str = "next_open"
    fractional_shares: bool = True
    sectors: Mapping[str, str] = field(default_factory=dict)
    exits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    signal_set_id: str | None = None
    data_seed: int = 42
    use_neural_engine: bool = False
    use_vectorized_calculations: bool = True
    parallel_processing: bool = True

    @property
    def hardware_acceleration_requested(self) -> bool:
        return any(getattr(self, hint) for hint in ACCELERATION_HINTS)

    def strategy_definition(self) -> Strategy:
        """The strategy to run: the registered one, or the compiled rules document."""
        return strategy_for(self.strategy_id, self.strategy)

    def strategy_provenance(self) -> dict[str, Any]:
        """What results record about the strategy (for ``target_weights``, its signal set)."""
        if self.strategy_id == TARGET_WEIGHTS:
            return signals.provenance(self.signal_set_id)
        return self.strategy_definition().provenance()

    @property
    def periods_per_year(self) -> float:
        return PERIODS_PER_YEAR[self.frequency]

    def job_labels(self) -> JobLabels:
        """The job row's labels and the work's size (symbols with the benchmark x bars)."""
        symbols = set(self.symbols) | ({self.benchmark_symbol} if self.benchmark_symbol else set())
        bars = estimate_bars(self.start_date, self.end_date, self.frequency)
        return JobLabels(
            name=self.backtest_name,
            strategy_id=self.strategy_id,
            backtest_type=self.backtest_type,
            symbols_count=len(self.symbols),
            cells=len(symbols) * bars,
            acceleration_requested=self.hardware_acceleration_requested,
        )

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict that ``parse_spec`` turns back into an equal spec (a shallow copy
        per field: ``dataclasses.asdict`` deep-copies, which costs more than the rest of a
        submission's validation)."""
        payload = {f.name: getattr(self, f.name) for f in fields(self)}
        payload["start_date"] = _iso(self.start_date)
        payload["end_date"] = _iso(self.end_date)
        for key in ("symbols", "universes", "data_sources"):
            payload[key] = list(payload[key])
        payload["strategy_parameters"] = dict(self.strategy_parameters)
        payload["risk_limits"] = dict(self.risk_limits)
        payload["sectors"] = dict(self.sectors)
        payload["exits"] = {kind: dict(rule) for kind, rule in self.exits.items()}
        if self.strategy is None:  # absent, so specs without rules keep their content hashes
            del payload["strategy"]
        return payload


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_spec(payload: Mapping[str, Any], resolver: Resolver | None = None) -> BacktestSpec:
    """Validate a ``POST /backtests`` body; raise ``SpecError`` listing every problem: bad
    fields, related fields that disagree, and (with a ``resolver``) missing stored data."""
    if not isinstance(payload, Mapping):
        raise SpecError.single("body", "must be a JSON object with the backtest's fields")
    check = FieldChecker(payload, BacktestSpec)
    values = _read_fields(check)
    _check_relations(check, values)
    if resolver is not None:
        check_stored_data(check, values, resolver)
        check_signal_set(check, values, resolver)
    check.raise_if_errors()
    return BacktestSpec(**values)


def check_stored_data(check: FieldChecker, v: Mapping[str, Any], resolver: Resolver) -> None:
    """The stored bars a spec reads must be present and usable (synthetic ones need nothing)."""
    window_fields = ("symbols", "start_date", "end_date", "frequency", "data_sources")
    if not check.ok(*window_fields, "benchmark_symbol", "end_date"):
        return
    try:
        if resolve_source(v["data_sources"]) == SYNTHETIC:
            return
    except SpecError as exc:
        check.merge(exc)
        return
    symbols = [*v["symbols"], *filter(None, [v["benchmark_symbol"]])]
    window = data_window(symbols, v["start_date"], v["end_date"], v["frequency"])
    check.data_problems(resolver.check_data(window))


def check_signal_set(check: FieldChecker, v: Mapping[str, Any], resolver: Resolver) -> None:
    """A ``target_weights`` job needs the caller's signal set, with weights for its symbols."""
    if v["strategy_id"] != TARGET_WEIGHTS or not check.ok("signal_set_id", "symbols"):
        return
    if v["signal_set_id"] is None:
        check.error("signal_set_id", "is required with target_weights: upload POST /data/signals")
        return
    symbols = resolver.signal_set_symbols(v["signal_set_id"])
    if symbols is None:
        check.error("signal_set_id", f"no signal set {v['signal_set_id']!r} of yours")
    elif missing := sorted(set(v["symbols"]) - set(symbols)):
        check.error("symbols", f"the signal set has no weights for {missing}")


FIELDS = (
    Field("backtest_name", "text", "A name for people.", required=True, example="Momentum 2024"),
    Field("backtest_type", "text", "A label to group backtests by.", max_length=64),
    Field("description", "text", max_length=2000),
    Field("start_date", "timestamp", "First bar (ISO 8601).", required=True, example="2024-01-01"),
    Field("end_date", "timestamp", "Last bar (ISO 8601).", required=True, example="2024-12-31"),
    Field("frequency", "choice", "Bar frequency.", choices=FREQUENCIES),
    Field("timezone", "timezone", "Time zone of naive dates."),
    Field("symbols", "symbols", "Traded symbols.", required=True, high=MAX_SYMBOLS,
          example=["GOOG", "IXIC"]),
    Field("universes", "strings", "Labels only."),
    Field("data_sources", "strings", 'Stored bars (default), or ["synthetic"] for generated '
          "ones; vendor names (yahoo_finance, alpha_vantage, ibkr) read the store too."),
    Field("strategy_id", "text", "A strategy of GET /strategies (id or alias).", required=True,
          max_length=100, example="sma_crossover"),
    Field("strategy", "document", 'With strategy_id "rules": the rules document (entry and '
          "exit conditions, parameters, sizing; see docs/strategies.md).",
          schema=document_schema()),
    Field("strategy_parameters", "mapping", "Parameters of the strategy (GET /strategies).",
          required=True, example={"fast_period": 10, "slow_period": 20}),
    Field("initial_capital", "number", "Starting cash.", low=1.0, high=1e13),
    Field("max_position_size", "number", "Cap on |weight| per symbol.", low=0.0, high=10.0,
          open_low=True),
    Field("max_portfolio_leverage", "number", "Cap on the sum of |weights|.", low=0.0,
          high=10.0, open_low=True),
    Field("risk_limits", "limits", "Caps as fractions of equity.", choices=RISK_LIMITS),
    Field("commission_rate", "number", "Fraction of traded notional.", low=0.0, high=0.1),
    Field("slippage_basis_points", "number", "Against the trader, per fill.", low=0.0,
          high=1000.0),
    Field("fee_per_order", "number", "Fixed amount per fill.", low=0.0, high=1e6),
    Field("benchmark_symbol", "symbol", "Benchmark for beta, alpha and the relative figures."),
    Field("risk_free_rate", "number", "Annual rate.", low=-0.1, high=1.0),
    Field("fill", "choice", "Fill at the next bar's open or this bar's close.", choices=FILLS),
    Field("fractional_shares", "flag", "False: whole shares only."),
    Field("sectors", "sectors", "{symbol: sector}, for max_sector_exposure."),
    Field("signal_set_id", "text", "With strategy_id target_weights: the id POST /data/signals "
          "answered.", max_length=64),
    Field("exits", "exits", "Exit orders on every position: stop_loss, take_profit and "
          "trailing_stop, each a fraction of the price or {atr, window} (docs/engine.md)."),
    Field("data_seed", "integer", "Seed of synthetic data.", low=0, high=2**31 - 1),
    *(Field(hint, "flag", "A hint; results report the device actually used.")
      for hint in ACCELERATION_HINTS),
)  # fmt: skip
"""Every field of a ``POST /backtests`` body, in the order they are documented."""


def _read_fields(check: FieldChecker) -> dict[str, Any]:
    v = read_fields(check, FIELDS)
    check.unknown_fields()
    return v


def openapi_schema() -> dict[str, Any]:
    """The JSON schema of a ``POST /backtests`` body, from the same fields that validate it."""
    return object_schema(FIELDS, dataclass_defaults(BacktestSpec))


def _check_relations(check: FieldChecker, v: dict[str, Any]) -> None:
    """Checks between fields, each run when the fields it reads are valid."""
    if check.ok("start_date", "end_date") and v["end_date"] <= v["start_date"]:
        check.error("end_date", "must be after start_date")
    unknown_sectors = sorted(set(v["sectors"]) - set(v["symbols"]))
    if check.ok("sectors", "symbols") and unknown_sectors:
        check.error("sectors", f"names symbols not in symbols: {unknown_sectors}")
    if "max_sector_exposure" in v["risk_limits"] and not v["sectors"]:
        check.error("risk_limits.max_sector_exposure", "needs sectors: {symbol: sector}")
    if not check.ok("strategy_id", "strategy_parameters", "signal_set_id"):
        return
    if v["strategy_id"] == TARGET_WEIGHTS:
        if v["strategy_parameters"]:
            check.error("strategy_parameters", "target_weights takes no parameters: send {}")
        return
    if v["signal_set_id"] is not None:
        check.error("signal_set_id", "is only read with strategy_id target_weights")
    if not check.ok("strategy"):
        return
    try:
        strategy = strategy_for(v["strategy_id"], v["strategy"])
        v["strategy_id"] = strategy.id
        v["strategy_parameters"] = strategy.resolve(v["strategy_parameters"])
        if isinstance(strategy, RulesStrategy) and check.ok("start_date", "end_date", "frequency"):
            bars = estimate_bars(v["start_date"], v["end_date"], v["frequency"])
            strategy.check_windows(v["strategy_parameters"], bars)
    except SpecError as exc:
        check.merge(exc)
