from __future__ import annotations

import pytest

from api import create_app
from store.db import make_engine, make_session_factory, transaction
from store.keys import create_key
from store.schema import upgrade
from workers.settings import Settings, load_settings


@pytest.fixture(scope="session")
def unit_store(tmp_path_factory) -> tuple[Settings, str]:
    """A migrated SQLite store holding one admin key, and no Redis: what fails before any
    other I/O is testable here."""
    var = tmp_path_factory.mktemp("api-unit")
    settings = load_settings({"NAUTILUS_VAR_DIR": str(var), "LOG_LEVEL": "WARNING"})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with transaction(make_session_factory(engine)) as session:
        _, key = create_key(session, "unit", "admin", settings.api_key_pepper)
    engine.dispose()
    return settings, key


@pytest.fixture
def make_client(unit_store):
    """A client of the app with more settings (``NAME=value``), called with the admin key."""

    def build(**env: str):
        settings, key = unit_store
        base = {"NAUTILUS_VAR_DIR": str(settings.var_dir), "LOG_LEVEL": "WARNING"}
        client = create_app(load_settings(base | env)).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return client

    return build


@pytest.fixture
def anonymous(unit_store):
    """The real app, called without a key."""
    return create_app(unit_store[0]).test_client()


@pytest.fixture
def client(unit_store, anonymous):
    """The real app, called with an admin key."""
    anonymous.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {unit_store[1]}"
    return anonymous
