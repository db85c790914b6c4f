"""Engines and sessions for PostgreSQL (production) and SQLite (the embedded default)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def finite_json(value: Any) -> str:
    """JSON for the database: NaN and infinities are not JSON (PostgreSQL refuses them), so an
    undefined number is stored as null, which is what documents mean by undefined. orjson
    writes them as null itself, about ten times faster than the standard library (an
    optimization stores thousands of trials per batch); integers beyond 64 bits, which it
    refuses, take the standard library's path."""
    try:
        return orjson.dumps(value, option=ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout so processes can share one."""
    kwargs.setdefault("json_serializer", finite_json)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("pool_recycle", 1800)
    engine = sa.create_engine(url, **kwargs)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


IDLE_PING_S = 10.0
"""A pooled connection idle this long is pinged before use; a busy one is not (a round trip
per checkout would cost every request). So a server restart during a quiet spell fails no
request; one during steady use fails the requests on connections already taken, until the
first failure has the pool replace them all (503 at the API, a bounded retry in tasks)."""


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dialect: sa.Dialect) -> Any:
    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool discards it and checks out another
            raise sa.exc.DisconnectionError(f"an idle pooled connection died: {exc}") from exc

    return ping


def make_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def autocommit_engine(engine: sa.Engine, pool_size: int) -> sa.Engine:
    """The engine for reads, and single-statement writes, that need no transaction of their
    own: on PostgreSQL its connections run in autocommit, one round trip per statement instead
    of BEGIN, statement, COMMIT (a write still goes through ``begin()``, which is free there and
    commits on SQLite, which keeps its own locking).

    Its own pool of connections, set to autocommit once when each connects: switching a shared
    pool's connections at every checkout and back at every checkin (an engine's
    ``execution_options``) cost about 70 us of a status read's 1.6 ms under gevent."""
    if engine.dialect.name != "postgresql":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=pool_size, isolation_level="AUTOCOMMIT")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def _sqlite_engine(url: str, **kwargs: Any) -> sa.Engine:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue it in _sqlite_begin_immediate.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # Taking the write lock up front avoids SQLITE_BUSY on lock upgrade between processes.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def changed_one(session: Session, stmt: Any) -> bool:
    """Run an UPDATE or DELETE; whether it changed exactly one row (a guarded transition)."""
    result = session.execute(stmt)
    return cast(sa.CursorResult[Any], result).rowcount == 1


def dialect_insert(session: Session, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's backend (PostgreSQL or SQLite)."""
    name = session.get_bind().dialect.name
    insert: Any
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported backends are above
        raise NotImplementedError(f"no upsert for {name}")
    return insert(table)
