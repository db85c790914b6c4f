"""The stress-test request: one frozen object that fully describes a ``POST /stress-test`` run.

Its fields are the seed's body (``backtest_id``, ``scenarios``, ``include_monte_carlo``,
``monte_carlo_iterations``) plus an inline ``portfolio`` as the alternative to a backtest, and
the Monte Carlo settings (``horizon_days``, ``seed``, ``method`` and its options).
``parse_stress_request`` is the only way in: it checks every field once and reports all
problems together, each under its field name (``scenarios[0].probability``) with how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from accel.montecarlo import METHODS
from engine.canonical import Canonical
from engine.data.sources import SYNTHETIC, resolve_source
from engine.errors import SpecError, did_you_mean
from engine.fields import SYMBOL_PATTERN, Field, object_schema, read_fields
from engine.numbers import finite
from engine.requests import JobLabels, Resolver, data_window
from engine.signals import TARGET_WEIGHTS
from engine.spec_fields import FieldChecker, dataclass_defaults
from engine.stress.scenarios import BUILTIN_SCENARIOS, Scenario

DRIFTS = ("historical", "zero")
MAX_ITERATIONS = 1_000_000
MAX_HORIZON_DAYS = 2520
MAX_STRATEGY_PATHS = 100_000
MAX_SCENARIOS = 20
MAX_PORTFOLIO_SYMBOLS = 500
MAX_SIMULATED_VALUES = 3_000_000_000
"""Cap on iterations x horizon_days x assets for one Monte Carlo run (about a minute on a CPU)."""
INLINE_ONLY = (
    "initial_value",
    "history_start_date",
    "history_end_date",
    "data_sources",
    "data_seed",
)
INLINE_DEFAULTS = {"history_start_date": "2021-01-01", "history_end_date": "2023-12-31"}
METHOD_OPTIONS = {"degrees_of_freedom": "parametric_t", "block_size": "bootstrap"}


@dataclass(frozen=True)
class StressRequest(Canonical):
    """Everything that determines a stress test's numbers."""

    backtest_id: str | None = None
    portfolio: Mapping[str, float] = field(default_factory=dict)  # symbol: weight of the value
    initial_value: float = 100_000.0
    history_start_date: pd.Timestamp | None = None
    history_end_date: pd.Timestamp | None = None
    data_sources: tuple[str, ...] = ("database",)
    data_seed: int = 42
    scenarios: tuple[Scenario, ...] = ()
    include_monte_carlo: bool = True
    monte_carlo_iterations: int = 10_000
    horizon_days: int = 252
    seed: int = 42
    method: str = "parametric_normal"
    degrees_of_freedom: float = 5.0
    block_size: int = 5
    drift: str = "historical"
    market_proxy: str = "SPY"
    strategy_paths: int = 0  # re-run the backtest's strategy on this many simulated paths
    book_symbols: int = field(default=0, compare=False, metadata={"internal": True})
    """How many symbols the base backtest holds, once the resolver looked it up."""
    antithetic: bool = False  # pair each path with its mirror image (parametric methods)

    @property
    def inline(self) -> bool:
        return self.backtest_id is None

    def job_labels(self) -> JobLabels:
        """The job row's labels; the work is paths x days x assets for the base run and for
        every scenario (each is simulated or revalued over the same paths), plus the strategy
        re-runs."""
        n_symbols = len(self.portfolio) if self.inline else self.book_symbols
        runs = 1 + len(self.scenarios)
        paths = self.monte_carlo_iterations * runs + self.strategy_paths
        simulated = paths * self.horizon_days * max(n_symbols, 1)
        base = "inline portfolio" if self.inline else self.backtest_id
        return JobLabels(
            name=f"stress test of {base}"[:200],
            strategy_id=None,
            backtest_type="stress_test",
            symbols_count=n_symbols,
            cells=simulated if self.include_monte_carlo else n_symbols,
        )

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict that ``parse_stress_request`` turns back into an equal request."""
        skip: tuple[str, ...] = ("portfolio", "scenarios", "book_symbols", *INLINE_ONLY)
        skip += tuple(o for o, m in METHOD_OPTIONS.items() if m != self.method)
        skip += () if self.antithetic else ("antithetic",)  # digests of older requests hold
        payload = {f: getattr(self, f) for f in self.__dataclass_fields__ if f not in skip}
        payload["scenarios"] = [_scenario_payload(s) for s in self.scenarios]
        if self.inline:
            payload.pop("backtest_id")
            payload.update(portfolio=dict(self.portfolio), initial_value=self.initial_value)
            start, end = self.history_start_date, self.history_end_date
            assert start is not None and end is not None  # parsed inline requests have both
            payload["history_start_date"] = start.strftime("%Y-%m-%d")
            payload["history_end_date"] = end.strftime("%Y-%m-%d")
            payload["data_sources"] = list(self.data_sources)
            payload["data_seed"] = self.data_seed
        return payload


def _scenario_payload(scenario: Scenario) -> str | dict[str, Any]:
    if not scenario.builtin:
        return scenario.to_payload()
    if scenario.probability is None:
        return scenario.name
    return {"name": scenario.name, "probability": scenario.probability}


@dataclass(frozen=True)
class _ScenarioFields:
    """The fields a request may give for one scenario (``Scenario`` has internal ones too)."""

    name: str
    description: str = ""
    market_shocks: Mapping[str, float] = field(default_factory=dict)
    volatility_multipliers: Mapping[str, float] = field(default_factory=dict)
    probability: float | None = None


def parse_stress_request(
    payload: Mapping[str, Any], resolver: Resolver | None = None
) -> StressRequest:
    """Validate a ``POST /stress-test`` body; raise ``SpecError`` listing every problem (with a
    ``resolver``: also a missing or unfinished base backtest, or missing stored history)."""
    if not isinstance(payload, Mapping):
        raise SpecError.single("body", "must be a JSON object with the stress test's fields")
    inline = payload.get("backtest_id") is None
    check = FieldChecker({**INLINE_DEFAULTS, **payload} if inline else payload, StressRequest)
    values = _read_fields(check, inline)
    check.raise_if_errors()
    _check_relations(check, values, payload)
    if resolver is not None:
        _resolve(check, values, resolver)
    check.raise_if_errors()
    return StressRequest(**values)


def _resolve(check: FieldChecker, v: dict[str, Any], resolver: Resolver) -> None:
    """The base backtest must exist and be completed; an inline book's stored history usable."""
    if v.get("backtest_id") is None:
        if check.ok("data_sources") and resolve_source(v["data_sources"]) != SYNTHETIC:
            window = data_window(
                tuple(v["portfolio"]), v["history_start_date"], v["history_end_date"], "1d"
            )
            check.data_problems(resolver.check_data(window))
        return
    stored = resolver.backtest(v["backtest_id"])
    if stored is None:
        check.error("backtest_id", f"no backtest with id {v['backtest_id']!r}")
    elif stored.status != "completed":
        check.error("backtest_id", f"is {stored.status}; stress tests need a completed backtest")
    else:
        v["book_symbols"] = stored.symbols_count
        if v.get("strategy_paths") and stored.spec is not None:
            problem = strategy_paths_unsupported(stored.spec)
            if problem:
                check.error("strategy_paths", problem)


def strategy_paths_unsupported(spec: Any) -> str | None:
    """Why the strategy of backtest ``spec`` cannot be re-run on simulated paths, or None: the
    paths carry closes only (no highs and lows for exit orders) and no uploaded signals."""
    if spec.strategy_id == TARGET_WEIGHTS:
        return "a target_weights backtest has no strategy to re-run on simulated paths; give 0"
    if spec.exits:
        return (
            "simulated paths carry closes only, so the backtest's exit orders cannot be "
            "re-run on them; give 0, or stress a backtest without exits"
        )
    return None


FIELDS = (
    Field("include_monte_carlo", "flag", "Simulate paths besides the scenarios."),
    Field("monte_carlo_iterations", "integer", "Simulated paths.", low=1, high=MAX_ITERATIONS),
    Field("horizon_days", "integer", "Days per path.", low=1, high=MAX_HORIZON_DAYS),
    Field("seed", "integer", "Seed of the draws.", low=0, high=2**32 - 1),
    Field("method", "choice", "How returns are drawn.", choices=METHODS),
    Field("degrees_of_freedom", "number", "parametric_t only.", low=2.0, high=1000.0,
          open_low=True),
    Field("block_size", "integer", "bootstrap only: days per resampled block.", low=1, high=252),
    Field("drift", "choice", "Mean daily return of the paths.", choices=DRIFTS),
    Field("antithetic", "flag", "Pair each path with its mirror image (parametric methods)."),
    Field("market_proxy", "symbol", "Market whose betas scale market-wide shocks."),
    Field("strategy_paths", "integer", "Re-run the backtest's strategy on this many paths.",
          low=0, high=MAX_STRATEGY_PATHS),
)  # fmt: skip
"""Fields of every stress test."""
INLINE_FIELDS = (
    Field("initial_value", "number", "Value of the inline portfolio.", low=1.0, high=1e13),
    Field("history_start_date", "timestamp", "First day of the history the paths learn from."),
    Field("history_end_date", "timestamp", "Its last day."),
    Field("data_sources", "strings", 'Stored bars (default) or ["synthetic"].'),
    Field("data_seed", "integer", "Seed of synthetic history.", low=0, high=2**31 - 1),
)  # fmt: skip
"""Fields of a stress test of an inline portfolio (not of a backtest)."""


def _read_fields(check: FieldChecker, inline: bool) -> dict[str, Any]:
    v = read_fields(check, FIELDS)
    if inline:
        v["portfolio"] = _portfolio(check)
        v |= read_fields(check, INLINE_FIELDS)
    else:
        v["backtest_id"] = _backtest_id(check)
    if inline and v["strategy_paths"]:
        check.error("strategy_paths", "re-runs a backtest's strategy: give backtest_id, or 0")
    v["scenarios"] = _scenarios(check, set(v.get("portfolio") or ()) if inline else None)
    check.unknown_fields()
    return v


def openapi_schema() -> dict[str, Any]:
    """The JSON schema of a ``POST /stress-test`` body, from the fields that validate it."""
    defaults = dataclass_defaults(StressRequest) | INLINE_DEFAULTS
    return object_schema(
        (*FIELDS, *INLINE_FIELDS),
        defaults,
        backtest_id={"type": "string", "description": "A completed backtest (or a portfolio)."},
        portfolio={
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": -10, "maximum": 10},
            "maxProperties": MAX_PORTFOLIO_SYMBOLS,
            "description": "{symbol: weight of initial_value}, instead of backtest_id.",
        },
        scenarios={"type": "array", "maxItems": MAX_SCENARIOS, "items": SCENARIO_SCHEMA},
    )


SCENARIO_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": list(BUILTIN_SCENARIOS)},
        {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "maxLength": 100},
                "description": {"type": "string", "maxLength": 2000},
                "market_shocks": {
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": -100},
                    "description": "{symbol: shock in percent}",
                },
                "volatility_multipliers": {
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
                },
                "probability": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
    ]
}
"""A built-in scenario by name, or a scenario of your own."""


def _backtest_id(check: FieldChecker) -> str | None:
    value = check.payload["backtest_id"]
    if not isinstance(value, str) or not value.startswith("bt_") or len(value) > 64:
        check.error("backtest_id", f"must be a backtest id such as 'bt_01J...', got {value!r}")
    for name in ("portfolio", *INLINE_ONLY):
        if name in check.payload:
            check.error(name, "applies to an inline portfolio only: drop it or drop backtest_id")
    return value


def _portfolio(check: FieldChecker) -> dict[str, float]:
    if "portfolio" not in check.payload:
        check.error("portfolio", "is required without backtest_id: give {symbol: weight}")
        return {}
    weights = check.mapping("portfolio")
    if not weights and "portfolio" not in check.errors:
        check.error("portfolio", "must hold at least one symbol: {symbol: weight}")
    if len(weights) > MAX_PORTFOLIO_SYMBOLS:
        check.error("portfolio", f"has {len(weights)} symbols; at most {MAX_PORTFOLIO_SYMBOLS}")
    for symbol, weight in weights.items():
        if not SYMBOL_PATTERN.match(symbol):
            check.error(f"portfolio.{symbol}", "is not a symbol: use letters, digits and .-_^=")
        elif not finite(weight) or abs(weight) > 10:
            check.error(
                f"portfolio.{symbol}",
                f"must be a weight (fraction of initial_value) from -10 to 10, got {weight!r}",
            )
    if all(finite(w) for w in weights.values()) and sum(map(abs, weights.values())) > 10:
        check.error("portfolio", "gross weight is above 10 (1000 % of initial_value)")
    return {s: float(w) for s, w in weights.items() if finite(w)}


def _scenarios(check: FieldChecker, symbols: set[str] | None) -> tuple[Scenario, ...]:
    items = check.payload.get("scenarios") or []
    if not isinstance(items, list):
        check.error("scenarios", "must be a list of scenario objects or built-in names")
        return ()
    if len(items) > MAX_SCENARIOS:
        check.error("scenarios", f"has {len(items)} scenarios; at most {MAX_SCENARIOS}")
    parsed = [_scenario(check, f"scenarios[{i}]", item, symbols) for i, item in enumerate(items)]
    scenarios = tuple(s for s in parsed if s is not None)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        check.error("scenarios", f"names {dupes} more than once: give each scenario its own name")
    total = sum(s.probability or 0.0 for s in scenarios)
    if total > 1.0 + 1e-9:
        check.error(
            "scenarios",
            f"probabilities add up to {total:g}; scenarios are mutually exclusive events in the "
            "expected loss, so they must add up to at most 1",
        )
    return scenarios


def _scenario(check, where: str, item: Any, symbols: set[str] | None) -> Scenario | None:
    if isinstance(item, str):
        return _builtin(check, where, item, None)
    if not isinstance(item, Mapping):
        check.error(where, "must be a scenario object or a built-in scenario name")
        return None
    inner = FieldChecker(item, _ScenarioFields)
    name = inner.text("name", required=True, max_length=100)
    probability = None if item.get("probability") is None else inner.number("probability", 0, 1)
    if name in BUILTIN_SCENARIOS and "market_shocks" not in item:
        for fixed in ("description", "volatility_multipliers"):
            if fixed in item:
                inner.error(
                    fixed,
                    "cannot change a built-in scenario: give only name and "
                    "probability, or market_shocks and another name for your own",
                )
        inner.unknown_fields()
        _nest(check, where, inner)
        return _builtin(check, where, name, probability)
    shocks = _percent_map(inner, "market_shocks", -100.0, 10_000.0, symbols, "shock in percent")
    vols = _percent_map(inner, "volatility_multipliers", 0.0, 100.0, symbols, "multiplier")
    if "market_shocks" not in item:
        names = ", ".join(BUILTIN_SCENARIOS)
        inner.error("market_shocks", f"is required unless name is a built-in scenario ({names})")
    description = inner.text("description", max_length=2000)
    inner.unknown_fields()
    _nest(check, where, inner)
    if name is None:  # reported as required
        return None
    return Scenario(name, description or "", shocks, vols, probability)


def _builtin(check, where: str, name: str, probability: float | None) -> Scenario | None:
    scenario = BUILTIN_SCENARIOS.get(name)
    if scenario is None:
        hint = did_you_mean(name, BUILTIN_SCENARIOS)
        check.error(where, f"unknown built-in scenario {name!r}.{hint} ({list(BUILTIN_SCENARIOS)})")
        return None
    return Scenario(**{**scenario.__dict__, "probability": probability})


def _percent_map(check, name, low, high, symbols, what) -> dict[str, float]:
    if name not in check.payload:
        return {}
    value = check.mapping(name)
    out: dict[str, float] = {}
    for symbol, x in value.items():
        where = f"{name}.{symbol}"
        if not SYMBOL_PATTERN.match(str(symbol)):
            check.error(where, "is not a symbol: use letters, digits and .-_^=")
        elif symbols is not None and symbol not in symbols:
            hint = did_you_mean(symbol, symbols)
            check.error(where, f"is not in the portfolio {sorted(symbols)}.{hint}")
        elif not finite(x) or not low <= x <= high or (low == 0.0 and x == 0):
            bound = "above 0" if low == 0.0 else f"at least {low:g} (a total loss)"
            check.error(where, f"must be a {what} {bound} and at most {high:g}, got {x!r}")
        else:
            out[symbol] = float(x)
    return out


def _nest(check: FieldChecker, where: str, inner: FieldChecker) -> None:
    for name, messages in inner.errors.items():
        check.errors.setdefault(f"{where}.{name}", []).extend(messages)


def _check_relations(check: FieldChecker, v: dict[str, Any], payload: Mapping) -> None:
    if v.get("history_start_date") is not None and v["history_end_date"] <= v["history_start_date"]:
        check.error("history_end_date", "must be after history_start_date")
    if "data_sources" in v:
        try:
            resolve_source(v["data_sources"])
        except SpecError as exc:
            check.merge(exc)
    for option, method in METHOD_OPTIONS.items():
        if option in payload and v["method"] != method:
            check.error(option, f"applies to method {method!r} only: drop it or set method")
    if not v["scenarios"] and not v["include_monte_carlo"]:
        check.error("scenarios", "is empty and include_monte_carlo is false: nothing to compute")
    if v["include_monte_carlo"] and v.get("portfolio"):
        try:
            check_simulation_size(
                v["monte_carlo_iterations"], v["horizon_days"], len(v["portfolio"])
            )
        except SpecError as exc:
            check.merge(exc)


def check_simulation_size(iterations: int, horizon: int, n_assets: int) -> None:
    """Refuse a Monte Carlo run larger than ``MAX_SIMULATED_VALUES``, naming what to lower."""
    size = iterations * horizon * max(n_assets, 1)
    if size > MAX_SIMULATED_VALUES:
        raise SpecError.single(
            "monte_carlo_iterations",
            f"x horizon_days x assets is {size:,}, above {MAX_SIMULATED_VALUES:,}: "
            "lower monte_carlo_iterations or horizon_days",
        )


def check_book_symbols(request: StressRequest, symbols: tuple[str, ...]) -> None:
    """Refuse scenario symbols that the book (known only once a backtest is loaded) lacks."""
    errors: dict[str, list[str]] = {}
    for i, scenario in enumerate(request.scenarios):
        if scenario.builtin:
            continue
        for name in ("market_shocks", "volatility_multipliers"):
            for symbol in sorted(set(getattr(scenario, name)) - set(symbols)):
                where = f"scenarios[{i}].{name}.{symbol}"
                errors[where] = [f"is not held by backtest {request.backtest_id}: {list(symbols)}"]
    if errors:
        raise SpecError(errors)
