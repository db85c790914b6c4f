"""Rules documents at the boundary: field-by-field errors, and hostile documents refused.

A document is data: strings are looked up in the library's tables and nowhere else. Hostile
documents (code-like strings, deep nesting, huge windows and counts) get a ``SpecError``
naming the field; nothing is imported or run (checked by watching ``builtins.__import__``,
``eval`` and ``exec`` while they are parsed).
"""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec import parse_spec
from engine.strategies import strategy_for
from engine.strategies.rules.parse import MAX_DEPTH, MAX_NODES, parse_rules

ROOT = Path(__file__).resolve().parents[3]
SMA = {"crosses_above": [{"sma": ["$fast"]}, {"sma": [20]}]}
FAST = {"fast": {"type": "int", "default": 10, "minimum": 1, "maximum": 100}}


def errors_of(document) -> dict[str, list[str]]:
    with pytest.raises(SpecError) as caught:
        parse_rules(document)
    return caught.value.errors


def spec_errors(**changes) -> dict[str, list[str]]:
    payload = json.loads((ROOT / "examples" / "goog_sma_rules.json").read_text()) | changes
    with pytest.raises(SpecError) as caught:
        parse_spec(payload)
    return caught.value.errors


def test_the_example_document_parses_and_reads_its_parameters():
    payload = json.loads((ROOT / "examples" / "goog_sma_rules.json").read_text())
    spec = parse_spec(payload)
    strategy = spec.strategy_definition()
    assert [p.name for p in strategy.params] == ["fast", "slow"]
    assert sorted(strategy.plan.indicators) == ["sma_fast", "sma_slow"]
    assert spec.to_payload()["strategy"] == payload["strategy"]
    assert parse_spec(spec.to_payload()) == spec


def test_unknown_indicator_says_did_you_mean():
    errors = errors_of({"parameters": FAST, "long": {"entry": {"gt": [{"smaa": ["$fast"]}, 1]}}})
    (message,) = errors["strategy.long.entry.gt[0].smaa"]
    assert "unknown indicator or operator 'smaa'" in message and "Did you mean 'sma'?" in message


def test_wrong_arity_names_the_arguments():
    errors = errors_of({"long": {"entry": {"gt": [{"sma": [10, 20]}, 1]}}})
    assert errors["strategy.long.entry.gt[0].sma"] == ["sma takes 1 argument(s) (window), got 2"]
    errors = errors_of({"long": {"entry": {"gt": [{"bollinger_upper": [10]}, 1, 2]}}})
    assert "takes 2 argument(s), got 3" in errors["strategy.long.entry.gt"][0]


def test_parameters_unknown_unreferenced_and_mistyped():
    errors = errors_of({"parameters": FAST, "long": {"entry": {"gt": [{"sma": ["$fats"]}, 1]}}})
    assert "Did you mean '$fast'?" in errors["strategy.long.entry.gt[0].sma[0]"][0]
    errors = errors_of({"parameters": {**FAST, "unused": FAST["fast"]}, "long": {"entry": SMA}})
    assert errors == {"strategy.parameters.unused": ["is declared but no rule uses it"]}
    level = {"level": {"type": "float", "default": 1.5, "minimum": 0, "maximum": 9}}
    errors = errors_of({"parameters": level, "long": {"entry": {"gt": [{"sma": ["$level"]}, 1]}}})
    assert "a window must be an int parameter" in errors["strategy.long.entry.gt[0].sma[0]"][0]


def test_types_conditions_and_numbers():
    errors = errors_of({"long": {"entry": {"sma": [10]}}})
    assert "must be a condition" in errors["strategy.long.entry"][0]
    errors = errors_of({"long": {"entry": {"and": [{"sma": [10]}, True]}}})
    assert errors["strategy.long.entry.and[0]"] == ["must be a condition, got a number"]


def test_subnormal_numbers_are_refused_where_backends_would_read_them_differently():
    tiny = 5e-324  # XLA flushes it to 0, numba does not: `momentum < tiny` held on one only
    errors = errors_of({"long": {"entry": {"lt": [{"momentum": [1]}, tiny]}}})
    (message,) = errors["strategy.long.entry.lt[1]"]
    assert "must be 0 or at least 2.2250738585072014e-308 in magnitude, got 5e-324" in message
    level = {"level": {"type": "float", "default": 0.0, "minimum": -tiny, "maximum": 1.0}}
    errors = errors_of({"parameters": level,
                        "long": {"entry": {"lt": [{"momentum": [1]}, "$level"]}}})  # fmt: skip
    assert "must be 0 or at least" in errors["strategy.parameters.level.minimum"][0]
    errors = errors_of({"long": {"entry": {"lt": [{"momentum": [1]}, 10**400]}}})
    assert errors["strategy.long.entry.lt[1]"][0].startswith("must be a finite number, got 1000")
    assert parse_rules({"long": {"entry": {"lt": [{"momentum": [1]}, 0]}}}) is not None
    assert parse_rules({"long": {"entry": {"lt": [{"momentum": [1]}, 2.3e-308]}}}) is not None


def test_window_longer_than_the_data_is_refused_with_the_field():
    errors = spec_errors(start_date="2013-02-20", end_date="2013-03-01")  # 10 days
    assert "is longer than the data" in errors["strategy_parameters.slow"][0]
    assert "strategy_parameters.fast" not in errors


def test_rules_needs_its_document_and_others_refuse_one():
    assert "is required" in spec_errors(strategy=None)["strategy"][0]
    errors = spec_errors(strategy_id="sma_crossover", strategy_parameters={})
    assert errors["strategy"] == ['is read only with strategy_id "rules"']


def test_fixed_fraction_sizing_and_its_bounds():
    strategy = strategy_for(
        "rules", {"long": {"entry": True}, "sizing": {"method": "fixed_fraction", "fraction": 0.3}}
    )
    assert strategy.plan.fraction == 0.3
    errors = errors_of({"long": {"entry": True}, "sizing": {"method": "fixed_fraction"}})
    assert "must be a number in (0, 1]" in errors["strategy.sizing.fraction"][0]


# --- hostile documents ----------------------------------------------------------------------

CODE_LIKE = (
    "__import__('os').system('touch /tmp/owned')",
    "lambda: 0",
    "close.__class__.__mro__",
    "os.system",
    "exec('1')",
    "${{7*7}}",
    "$__class__",
)


def parse_watched(document) -> dict[str, list[str]]:
    """The document's errors; fails if parsing it loaded a module or called eval/exec."""
    calls = []
    real_import, modules = builtins.__import__, set(sys.modules)

    def watch_import(name, *args, **kwargs):
        calls.append(("import", name))
        return real_import(name, *args, **kwargs)

    def refuse(*args):
        calls.append(("eval or exec", args))

    saved = builtins.__import__, builtins.eval, builtins.exec
    builtins.__import__, builtins.eval, builtins.exec = watch_import, refuse, refuse
    try:
        parse_rules(document)
    except SpecError as exc:
        errors = exc.errors
    else:
        errors = {}
    finally:
        builtins.__import__, builtins.eval, builtins.exec = saved
    assert calls == [] and set(sys.modules) == modules
    return errors


@pytest.mark.parametrize("text", CODE_LIKE)
def test_code_like_strings_are_unknown_names(text):
    for document in (
        {"long": {"entry": {"gt": [text, 1]}}},
        {"long": {"entry": {text: [1, 2]}}},
        {"long": {"entry": {"gt": [{"sma": [text]}, 1]}}},
        {"parameters": {text: FAST["fast"]}, "long": {"entry": True}},
        {"long": {"entry": True}, text: 1},
    ):
        errors = parse_watched(document)
        assert errors and all(key.startswith("strategy") for key in errors)
        assert all(len(m) < 400 for messages in errors.values() for m in messages)


def test_deep_nesting_stops_at_the_depth_limit():
    node: object = {"gt": ["close", 1]}
    for _ in range(10_000):  # far deeper than Python's recursion limit
        node = {"not": [node]}
    errors = parse_watched({"long": {"entry": node}})
    ((field, messages),) = errors.items()
    assert messages == [f"nests deeper than {MAX_DEPTH} levels"]


def test_too_many_nodes_and_parameters():
    wide = {"or": [{"gt": ["close", i]} for i in range(MAX_NODES)]}
    assert (
        f"more than {MAX_NODES} expression nodes"
        in errors_of({"long": {"entry": wide}})["strategy"][0]
    )
    many = {f"p{i}": FAST["fast"] for i in range(50)}
    errors = errors_of({"parameters": many, "long": {"entry": True}})
    assert "at most 20" in errors["strategy.parameters"][0]


@pytest.mark.parametrize(
    "window", (10**400, 10**9, 1001, 0, -5, 2.5, float("inf"), "20", None, True)
)
def test_huge_and_bad_windows(window):
    errors = errors_of({"long": {"entry": {"gt": [{"sma": [window]}, 1]}}})
    (message,) = errors["strategy.long.entry.gt[0].sma[0]"]
    assert message.startswith("a window is a whole number from 1 to 1000")
    huge = {"n": {"type": "int", "default": 10, "minimum": 1, "maximum": 10**9}}
    errors = errors_of({"parameters": huge, "long": {"entry": {"gt": [{"sma": ["$n"]}, 1]}}})
    assert "maximum at most 1000" in errors["strategy.parameters.n"][0]


@pytest.mark.parametrize(
    "document", (None, [], "long", 42, {"long": []}, {"long": {"entry": []}}, {"long": {}})
)
def test_malformed_documents(document):
    assert errors_of(document)
