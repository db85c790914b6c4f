"""Which data source a run spec's ``data_sources`` names: the synthetic generator or the store.

``synthetic`` (the default) is the engine's deterministic generator, always labelled so in
results. ``database`` (aliases ``db``, ``store``, ``stored``) and the names of the providers we
import from (``yahoo_finance``, ``alpha_vantage``, ``csv``...) read the bars stored in the bar
store: providers feed the store through imports, a backtest never calls them. Names are read
case-insensitively with ``-`` and spaces as ``_``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import SpecError

SYNTHETIC = "synthetic"
DATABASE = "database"
DATABASE_ALIASES = frozenset({"database", "db", "store", "stored"})
PROVIDERS = frozenset(
    {"yahoo", "yahoo_finance", "alpha_vantage", "alphavantage", "csv", "file", "import"}
)


def resolve_source(data_sources: Sequence[str]) -> str:
    """``"synthetic"`` or ``"database"`` for a spec's ``data_sources``; SpecError otherwise."""
    names = {_key(name) for name in data_sources} or {SYNTHETIC}
    unknown = sorted(names - DATABASE_ALIASES - PROVIDERS - {SYNTHETIC})
    if unknown:
        raise SpecError.single(
            "data_sources",
            f'unknown data source(s) {unknown}; use ["synthetic"] for generated bars or '
            '["database"] for bars imported into the store (also: yahoo_finance, alpha_vantage)',
        )
    if SYNTHETIC in names and len(names) > 1:
        raise SpecError.single(
            "data_sources", "synthetic data cannot be mixed with stored data; name one source"
        )
    return SYNTHETIC if SYNTHETIC in names else DATABASE


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")
