"""Market data sources: deterministic synthetic bars (real files live in ``store.bars.files``)."""

from engine.data.synthetic import FREQUENCIES, SymbolProfile, symbol_profile, synthetic_market

__all__ = ["FREQUENCIES", "SymbolProfile", "symbol_profile", "synthetic_market"]
