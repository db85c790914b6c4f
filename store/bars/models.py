"""Tables of the bar store: one row per bar, and one row per stored series (symbol, frequency).

``bars`` is keyed by (symbol, frequency, ts) with ``ts`` the bar's opening time in UTC (daily
bars at 00:00 UTC of their session date) and ``source`` where the row came from. ``bar_series``
summarises each series (count, first and last bar, exchange calendar) and carries its
``version``, a fresh token whenever any of the series' bars is inserted or changed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UTCDateTime, utcnow

PRICE: sa.Double[float] = sa.Double()


class Bar(Base):
    """One OHLCV bar of one symbol at one frequency."""

    __tablename__ = "bars"
    __table_args__ = (
        sa.PrimaryKeyConstraint("symbol", "frequency", "ts"),
        sa.CheckConstraint(
            "open > 0 AND high > 0 AND low > 0 AND close > 0 AND volume >= 0",
            name="prices_positive",
        ),
    )

    symbol: Mapped[str] = mapped_column(sa.String(32))
    frequency: Mapped[str] = mapped_column(sa.String(8))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    open: Mapped[float] = mapped_column(PRICE)
    high: Mapped[float] = mapped_column(PRICE)
    low: Mapped[float] = mapped_column(PRICE)
    close: Mapped[float] = mapped_column(PRICE)
    volume: Mapped[float] = mapped_column(PRICE)
    source: Mapped[str] = mapped_column(sa.String(32))


class BarSeries(Base):
    """What is stored for one (symbol, frequency), kept in step with ``bars`` by every load."""

    __tablename__ = "bar_series"
    __table_args__ = (sa.PrimaryKeyConstraint("symbol", "frequency"),)

    symbol: Mapped[str] = mapped_column(sa.String(32))
    frequency: Mapped[str] = mapped_column(sa.String(8))
    exchange: Mapped[str] = mapped_column(sa.String(16), default="XNYS")
    bar_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    first_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
