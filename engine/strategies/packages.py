"""Strategy packages: strategies an operator installs, found through an entry point group.

A package declares ``[project.entry-points."nautilus_backtest.strategies"]`` naming an object
that is a ``Strategy``, an iterable of them, or a function returning either. Each strategy is
written like a built-in (a ``Plan`` and a parameter schema) and is registered with its
distribution's name and version, which results record. A package that fails to load, or
names an id already taken, is skipped and listed with its error; the others still load.
Loading happens once per process, on the registry's first look-up (workers and the API do
it at start).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from engine.strategies.registry import Strategy, register, registered

ENTRY_POINT_GROUP = "nautilus_backtest.strategies"
RESERVED_IDS = ("rules",)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Package:
    """One entry point: its distribution, the strategies it registered, or why it did not."""

    name: str
    version: str
    entry_point: str
    strategies: tuple[str, ...] = ()
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"strategies": list(self.strategies)}


def load_packages(entry_points: Iterable[metadata.EntryPoint] | None = None) -> list[Package]:
    """Register every installed package's strategies; what each entry point gave."""
    found = metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
    return [_load(entry_point) for entry_point in found]


def _load(entry_point: metadata.EntryPoint) -> Package:
    dist = entry_point.dist
    name, version = (dist.name, dist.version) if dist is not None else (entry_point.name, "")
    where = f"{entry_point.name} = {entry_point.value}"
    try:
        strategies = _strategies(entry_point.load())
        for strategy in strategies:
            taken = [
                n for n in (strategy.id, *strategy.aliases) if n in RESERVED_IDS or registered(n)
            ]
            if taken:
                raise ValueError(f"strategy ids {taken} are already registered")
        for strategy in strategies:
            register(dataclasses.replace(strategy, package=(name, version)))
    except Exception as exc:  # an operator's package: report it, keep serving the others
        log.warning("strategy package %s %s (%s) not loaded: %s", name, version, where, exc)
        return Package(name, version, where, error=f"{type(exc).__name__}: {exc}")
    return Package(name, version, where, tuple(s.id for s in strategies))


def _strategies(obj: Any) -> list[Strategy]:
    if callable(obj) and not isinstance(obj, Strategy):
        obj = obj()
    items = [obj] if isinstance(obj, Strategy) else list(obj)
    bad = [type(item).__name__ for item in items if not isinstance(item, Strategy)]
    if bad:
        raise TypeError(f"expected engine.strategies.Strategy objects, got {bad}")
    return items
