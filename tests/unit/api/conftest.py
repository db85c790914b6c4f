from __future__ import annotations

import pytest

from api import create_app
from workers.settings import load_settings


@pytest.fixture
def client(tmp_path):
    """The real app on stores that do not exist: only what fails before any I/O is testable."""
    settings = load_settings({"NAUTILUS_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"})
    return create_app(settings).test_client()
