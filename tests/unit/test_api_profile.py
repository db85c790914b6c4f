"""bench/api_profile.py's reading of py-spy's raw stacks."""

from __future__ import annotations

from pathlib import Path

from bench.api_profile import ROOT, frame_name, inclusive_samples


def test_frame_names_drop_line_numbers_and_prefixes() -> None:
    assert frame_name(f"submit ({ROOT}/api/submit.py:39)") == "submit (api/submit.py)"
    site = "/x/.venv/lib/python3.11/site-packages/flask/app.py:1529"
    assert frame_name(f"Flask.wsgi_app ({site})") == "Flask.wsgi_app (flask/app.py)"
    stdlib = "/usr/lib/python3.12/contextlib.py:132"
    assert frame_name(f"__enter__ ({stdlib})") == "__enter__ (contextlib.py)"


def test_a_function_counts_once_per_stack_however_often_it_recurs(tmp_path: Path) -> None:
    raw = tmp_path / "1.txt"
    raw.write_text("main (a.py:1);walk (b.py:5);walk (b.py:9) 3\nmain (a.py:1);other (c.py:2) 1\n")
    counts, total = inclusive_samples([raw])
    assert total == 4
    assert counts["main (a.py)"] == 4
    assert counts["walk (b.py)"] == 3
    assert counts["other (c.py)"] == 1
