"""Stored signal sets: uploaded target weights, owned by the uploader (``POST /data/signals``).

One row per set: its owner, frequency, symbols, first and last time, and the weights as a
wide table (``{"index": [iso...], "columns": [...], "data": [[...]]}``, null for a cell that
keeps the previous weight). Only the owner reads or deletes a set (others get "not found");
a set that an active job trades cannot be deleted (``store.jobs.active_naming``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import changed_one
from store.models import Base, JSONDoc, UTCDateTime, utcnow


class SignalSet(Base):
    """One uploaded set of target weights."""

    __tablename__ = "signal_sets"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(64), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    frequency: Mapped[str] = mapped_column(sa.String(8))
    symbols: Mapped[list[str]] = mapped_column(JSONDoc)
    first_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    rows: Mapped[int] = mapped_column(sa.Integer)
    weights: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def describe(self) -> dict[str, Any]:
        return {
            "signal_set_id": self.id,
            "name": self.name,
            "frequency": self.frequency,
            "symbols": list(self.symbols),
            "start_date": _iso(self.first_ts),
            "end_date": _iso(self.last_ts),
            "rows": self.rows,
            "created_at": _iso(self.created_at),
        }


def _iso(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_signal_set(
    session: Session, owner: str, name: str, frequency: str, weights: pd.DataFrame
) -> SignalSet:
    """Store ``weights`` (wide: naive UTC index, one column per symbol) for ``owner``."""
    index = pd.DatetimeIndex(weights.index)
    cells = weights.to_numpy(dtype=float)
    row = SignalSet(
        id=str(uuid.uuid4()),
        owner=owner,
        name=name,
        frequency=frequency,
        symbols=[str(c) for c in weights.columns],
        first_ts=index[0].tz_localize("UTC").to_pydatetime(),
        last_ts=index[-1].tz_localize("UTC").to_pydatetime(),
        rows=len(index),
        weights={
            "index": [_iso(ts) for ts in index],
            "columns": [str(c) for c in weights.columns],
            "data": [[None if np.isnan(x) else float(x) for x in r] for r in cells],
        },
    )
    session.add(row)
    return row


def get_signal_set(session: Session, signal_set_id: str, owner: str | None) -> SignalSet | None:
    """The set with this id if ``owner`` may read it (None: any owner)."""
    row = session.get(SignalSet, signal_set_id)
    if row is None or (owner is not None and row.owner != owner):
        return None
    return row


def delete_signal_set(session: Session, signal_set_id: str) -> bool:
    """Delete the set; whether it was there."""
    stmt = sa.delete(SignalSet).where(SignalSet.id == signal_set_id)
    return changed_one(session, stmt.execution_options(synchronize_session=False))


def signal_weights(row: SignalSet) -> pd.DataFrame:
    """The stored weights as the wide frame ``engine.signals`` reads (naive UTC index)."""
    stored = row.weights
    index = pd.DatetimeIndex(stored["index"]).tz_convert("UTC").tz_localize(None)
    data = np.array(stored["data"], dtype=float).reshape(len(index), len(stored["columns"]))
    return pd.DataFrame(data, index=index, columns=stored["columns"])
