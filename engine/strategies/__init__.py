"""Strategies: the registry and the built-in signal functions."""

from engine.strategies import builtin as _builtin  # noqa: F401  (registers the built-ins)
from engine.strategies.lookup import strategy_for
from engine.strategies.registry import Bars, Strategy, get_strategy, strategy_ids

__all__ = ["Bars", "Strategy", "get_strategy", "strategy_for", "strategy_ids"]
