"""Rules documents: compiled into the built-ins' plans and held to a per-bar reference.

(a) random documents' weights on the JAX path equal ``tests.reference.rules``; (b) their
simulation on each backend equals the loop reference (``check_lanes``); (c) the rule form of
the built-in RSI strategy equals the built-in on both backends. The GOOG parity with
backtesting.py runs the rule form in ``test_parity_backtesting_py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.strategies import get_strategy, strategy_for
from engine.strategies.rules.parse import parse_rules
from tests.reference import rules as ref_rules
from tests.reference import signals as ref
from tests.unit.engine import kernel_cases as kc
from tests.unit.engine.test_kernel_vs_reference import check_lanes

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Each new document compiles its own fused kernel (about a minute on a loaded 2-core VM, as a
# built-in's does; cached on disk in the service), so the numba cases draw fewer documents.
EXAMPLES = {"jax": 6, "numba": 2}
SEEDS = st.integers(0, 2**32 - 1)
WINDOWED = ("sma", "ema", "rsi", "zscore", "stdev", "highest", "lowest", "momentum", "atr",
            "volume_sma")  # fmt: skip
LEVELS = {"rsi": (20.0, 80.0), "zscore": (-2.0, 2.0), "momentum": (-0.05, 0.05),
          "stdev": (0.1, 2.0), "atr": (0.1, 2.0), "volume_sma": (0.5, 1.5)}  # fmt: skip


def rsi_document(allow_short: bool) -> dict:
    rsi = {"rsi": ["$period"]}
    doc = {
        "parameters": {
            "period": {"type": "int", "default": 14, "minimum": 2, "maximum": 1000},
            "lower": {"type": "float", "default": 30, "minimum": 0, "maximum": 100},
            "upper": {"type": "float", "default": 70, "minimum": 0, "maximum": 100},
        },
        "long": {"entry": {"lt": [rsi, "$lower"]}, "exit": {"gt": [rsi, "$upper"]}},
    }
    if allow_short:
        doc["short"] = {"entry": {"gt": [rsi, "$upper"]}, "exit": {"lt": [rsi, "$lower"]}}
    return doc


# --- random documents ---------------------------------------------------------------------


@st.composite
def _series(draw, window_param: bool):
    kind = draw(st.sampled_from((*WINDOWED, "close", "high", "low", "open", "volume")))
    if kind in WINDOWED:
        window = "$n" if window_param and draw(st.booleans()) else draw(st.integers(1, 30))
        node = {kind: [window]}
    else:
        node = kind
    return kind, (node if draw(st.integers(0, 4)) else {"prev": [node]})


@st.composite
def _comparison(draw, window_param: bool):
    kind, a = draw(_series(window_param))
    if kind in LEVELS:  # subnormal levels are refused at parse (engine.numbers)
        b = draw(st.floats(*LEVELS[kind], allow_nan=False, allow_subnormal=False))
    elif kind == "volume":
        b = draw(st.sampled_from((0.5, 1.0, 2.0)))
    else:
        price_like = ("sma", "ema", "highest", "lowest", "close", "high", "low", "open")
        b = draw(_series(window_param).filter(lambda s: s[0] in price_like))[1]
        bands = ({"bollinger_upper": [draw(st.integers(2, 30)), 2]},
                 {"bollinger_lower": [draw(st.integers(2, 30)), 1.5]})  # fmt: skip
        b = draw(st.sampled_from((b, *bands)))
    if isinstance(a, dict) and "prev" in a and draw(st.booleans()):
        a = a["prev"][0]
    op = draw(st.sampled_from(("gt", "lt", ">=", "<=", "crosses_above", "crosses_below")))
    if op.startswith("crosses") and (_has_prev(a) or _has_prev(b)):
        op = "gt"
    return {op: [a, b]}


def _has_prev(node) -> bool:
    return isinstance(node, dict) and ("prev" in node or any(
        _has_prev(arg) for args in node.values() for arg in args))  # fmt: skip


@st.composite
def _condition(draw, window_param: bool, depth: int = 0):
    if depth >= 2 or draw(st.integers(0, 2)):
        return draw(_comparison(window_param))
    op = draw(st.sampled_from(("and", "or", "not")))
    if op == "not":
        return {"not": [draw(_condition(window_param, depth + 1))]}
    return {op: [draw(_condition(window_param, depth + 1)) for _ in range(2)]}


@st.composite
def documents(draw) -> dict:
    """A random valid document: one or both sides, optional exits, either sizing."""
    window_param = draw(st.booleans())
    doc: dict = {}
    for side in draw(st.sampled_from((("long",), ("short",), ("long", "short")))):
        rules = {"entry": draw(_condition(window_param))}
        if draw(st.booleans()):
            rules["exit"] = draw(_condition(window_param))
        doc[side] = rules
    if draw(st.booleans()):
        doc["sizing"] = {"method": "fixed_fraction", "fraction": draw(st.sampled_from((0.2, 0.5)))}
    if "$n" in repr(doc):
        doc["parameters"] = {"n": {"type": "int", "default": 5, "minimum": 1, "maximum": 1000}}
    return doc


def _param_sets(data, strategy) -> list[dict]:
    windows = st.integers(1, 30) | st.integers(1, 1000)
    has_n = any(p.name == "n" for p in strategy.params)
    return [strategy.resolve({"n": data.draw(windows)} if has_n else {}) for _ in range(kc.N_SETS)]


@SETTINGS
@given(doc=documents(), seed=SEEDS, data=st.data())
def test_random_documents_match_the_reference(doc, seed, data):
    strategy = strategy_for("rules", doc)
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    sets = _param_sets(data, strategy)
    weights = kc.engine_signal(strategy, kc.engine_bars(market), sets)
    bars = ref.reference_bars(market.timestamps, market.open, market.high, market.low,
                              market.close) | {"volume": market.volume}  # fmt: skip
    parsed = parse_rules(doc)
    for lane, params in enumerate(sets):
        expected = ref_rules.rules_weights(parsed, bars, params)
        bad = np.argwhere(weights[lane] != expected)
        assert not bad.size, f"{doc} {params}: differ at {bad[:5].tolist()}"


@pytest.mark.parametrize("backend", kc.BACKENDS)
def test_random_documents_simulate_as_the_reference(backend):
    @settings(max_examples=EXAMPLES[backend], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(doc=documents(), seed=SEEDS, data=st.data())
    def run(doc, seed, data):
        _simulate_as_reference(backend, doc, seed, data)

    run()


def _simulate_as_reference(backend, doc, seed, data):
    strategy = strategy_for("rules", doc)
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    fill, whole = data.draw(st.sampled_from(kc.COMBOS))
    setup = data.draw(kc.setups(kc.N_SYMBOLS, fill, whole))
    check_lanes(strategy, market, _param_sets(data, strategy), setup, False, backend)


# --- the rule form of a built-in ----------------------------------------------------------


@pytest.mark.parametrize("allow_short", (False, True))
@pytest.mark.parametrize("backend", kc.BACKENDS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, data=st.data())
def test_rule_form_of_rsi_equals_the_builtin(backend, allow_short, seed, data):
    builtin = get_strategy("rsi")
    sets = [{**data.draw(kc.param_set("rsi")), "allow_short": allow_short} for _ in range(3)]
    rules = strategy_for("rules", rsi_document(allow_short))
    rule_sets = [rules.resolve({k: s[k] for k in ("period", "lower", "upper")}) for s in sets]
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    setup = data.draw(kc.setups(kc.N_SYMBOLS, "next_open", False))
    bars = kc.engine_bars(market)
    ours_acct, ours = kc.run_engine(rules, bars, rule_sets, setup, backend)
    theirs_acct, theirs = kc.run_engine(builtin, bars, sets, setup, backend)
    np.testing.assert_array_equal(ours.equity, theirs.equity)
    np.testing.assert_array_equal(ours.shares, theirs.shares)
    np.testing.assert_array_equal(ours_acct.orders, theirs_acct.orders)


def test_documents_compile_once_per_content():
    """Key order does not matter: one strategy (one set of compiled programs) per content."""
    doc = rsi_document(True)
    reordered = dict(reversed(list(doc.items())))
    assert strategy_for("rules", doc) is strategy_for("rules", reordered)
