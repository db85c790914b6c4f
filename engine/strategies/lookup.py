"""The strategy a request names: a registered id (built-in or package), or a rules document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import SpecError
from engine.strategies.registry import Strategy, get_strategy
from engine.strategies.rules import RULES_ID, compile_rules


def strategy_for(strategy_id: str, document: Mapping[str, Any] | None = None) -> Strategy:
    """``strategy_id``'s strategy; ``"rules"`` compiles ``document`` (the request's
    ``strategy``), which no other id reads."""
    if strategy_id == RULES_ID:
        if document is None:
            raise SpecError.single(
                "strategy", 'is required with strategy_id "rules": the rules document'
            )
        return compile_rules(document)
    if document is not None:
        raise SpecError.single("strategy", 'is read only with strategy_id "rules"')
    return get_strategy(strategy_id)
