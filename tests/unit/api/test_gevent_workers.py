"""gunicorn's gevent workers must get database waits that yield to other requests: psycopg
chooses its wait function when imported, cooperative only if gevent has patched ``select``
by then, so nothing the master imports before forking may import it."""

from __future__ import annotations

import subprocess
import sys

DRIVERS = ("psycopg", "sqlalchemy", "redis")


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_gunicorn_configuration_imports_no_database_driver():
    code = f"import sys, api.gunicorn_conf; print([m for m in {DRIVERS!r} if m in sys.modules])"
    assert run(code) == "[]"


def test_a_worker_patched_after_the_configuration_waits_cooperatively():
    code = (
        "import api.gunicorn_conf\n"  # the master, before it forks
        "from gevent import monkey; monkey.patch_all()\n"  # the worker's first step
        "from api import create_app\n"  # then the app (gunicorn 'api:create_app()')
        "import psycopg.waiting\n"
        "print(psycopg.waiting.wait.__name__)"
    )
    assert run(code) != "wait_c"  # wait_c blocks the whole process in C
