"""Which data source a run spec's ``data_sources`` names: the synthetic generator or the store.

``database`` (the default; aliases ``db``, ``store``, ``stored``) and the names of the vendors
bars are imported from (``yahoo_finance``, ``alpha_vantage``, ``ibkr``, ``csv``...) read the
bars stored in the bar store: vendors feed the store through imports, a backtest never calls
them. ``synthetic`` is the engine's deterministic generator, only when a request names it, and
always labelled so in results. Names are read
case-insensitively with ``-`` and spaces as ``_``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import SpecError

SYNTHETIC = "synthetic"
DATABASE = "database"
DATABASE_ALIASES = frozenset({"database", "db", "store", "stored"})
PROVIDERS = frozenset(
    {
        "yahoo", "yahoo_finance", "alpha_vantage", "alphavantage", "ibkr",
        "interactive_brokers", "fred", "csv", "file", "import",
    }
)  # fmt: skip


def resolve_source(data_sources: Sequence[str]) -> str:
    """``"synthetic"`` or ``"database"`` for a spec's ``data_sources``; SpecError otherwise."""
    names = {_key(name) for name in data_sources} or {DATABASE}
    unknown = sorted(names - DATABASE_ALIASES - PROVIDERS - {SYNTHETIC})
    if unknown:
        raise SpecError.single(
            "data_sources",
            f'unknown data source(s) {unknown}; use ["synthetic"] for generated bars or '
            '["database"] for bars imported into the store (or the vendor they came from: '
            "yahoo_finance, alpha_vantage, ibkr)",
        )
    if SYNTHETIC in names and len(names) > 1:
        raise SpecError.single(
            "data_sources", "synthetic data cannot be mixed with stored data; name one source"
        )
    return SYNTHETIC if SYNTHETIC in names else DATABASE


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")
