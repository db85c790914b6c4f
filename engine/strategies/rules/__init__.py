"""Strategies as data in a request (``strategy_id: "rules"``): parsed, checked and compiled
into the same plans as the built-ins; see docs/strategies.md."""

from engine.strategies.rules.compile import RULES_ID, RulesStrategy, compile_rules
from engine.strategies.rules.library import describe as describe_library
from engine.strategies.rules.library import document_schema

__all__ = ["RULES_ID", "RulesStrategy", "compile_rules", "describe_library", "document_schema"]
