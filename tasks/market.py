"""Where a backtest's bars come from. Synthetic data now; the data-layer issue adds real sources."""

from __future__ import annotations

from typing import Any

SYNTHETIC = "synthetic"


def load_market(spec: Any) -> Any:
    """The ``engine.market.Market`` for ``spec``: every symbol it trades plus its benchmark."""
    from engine.backtest import required_symbols
    from engine.data import synthetic_market
    from engine.errors import DataError

    sources = [s.lower() for s in spec.data_sources]
    if sources and SYNTHETIC not in sources:
        raise DataError(
            f"data source not yet supported: {', '.join(spec.data_sources)}; this service can "
            f'only run on data_sources ["{SYNTHETIC}"] until the market-data issue lands'
        )
    return synthetic_market(
        required_symbols(spec),
        spec.start_date,
        spec.end_date,
        frequency=spec.frequency,
        seed=spec.data_seed,
    )
