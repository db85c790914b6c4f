"""Pooled PostgreSQL connections that died while idle (a server restart during a quiet spell)
are replaced before use instead of failing a request; busy ones are not pinged. The API's
autocommit engine keeps its own pool, whose connections stay in autocommit."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from store import db


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_that_died_while_idle_is_replaced(pg_url, monkeypatch):
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=1)
    dead = backend_pid(engine)
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dead,))  # the pooled one, now idle
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle
    assert backend_pid(engine) != dead  # no error: the dead one was pinged and replaced
    engine.dispose()


def test_a_busy_connection_is_not_pinged(pg_url, monkeypatch):
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=0)
    backend_pid(engine)
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or True)
    backend_pid(engine)  # checked in a moment ago
    assert pings == []
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)
    backend_pid(engine)
    assert len(pings) == 1
    engine.dispose()


def test_the_autocommit_engine_has_its_own_pool_in_autocommit(pg_url):
    engine = db.make_engine(pg_url, pool_size=2)
    autocommit = db.autocommit_engine(engine, pool_size=2)
    assert autocommit.pool is not engine.pool
    for _ in range(2):  # again after a checkin: nothing switched it back
        with autocommit.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver.autocommit
            conn.execute(sa.text("SELECT 1"))
            assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with engine.connect() as conn:
        assert not conn.connection.driver_connection.autocommit  # sessions' transactions
    autocommit.dispose()
    engine.dispose()
