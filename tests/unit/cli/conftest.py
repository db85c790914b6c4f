"""The CLI run in-process on the embedded SQLite database of a fresh folder."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli.main import main
from workers.settings import get_settings

GOOG = "examples/data/GOOG.csv"


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """Settings with no service URLs: the embedded database under ``tmp_path``."""
    monkeypatch.setenv("NAUTILUS_VAR_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "REDIS_URL", "FRED_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def cli(embedded, capsys) -> Callable[..., tuple[int, str, str]]:
    """``nautilus-bt ARGV...`` as ``(exit code, stdout, stderr)``."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
