"""Stored bytes per owner on SQLite (the embedded database): requests, results and trials."""

from __future__ import annotations

import json

from store import trials
from store.db import transaction
from store.results import save_result
from store.usage import stored_bytes
from tests.unit.store.test_trials import stub


def _json_bytes(value) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def test_an_owner_stores_the_bytes_of_their_jobs_results_and_trials(sessions):
    with transaction(sessions) as session:
        base = stored_bytes(session, "u")
        assert base > 0 and stored_bytes(session, "somebody else") == 0
        document = {"equity": [100.5] * 1000, "name": "é"}
        save_result(session, "opt_1", document=document, sections={}, digest="d",
                    dataset_version=None)  # fmt: skip
        with_result = stored_bytes(session, "u")
        assert with_result - base >= _json_bytes(document)  # and the key order kept with it
        trials.insert_trials(session, "opt_1", [stub(i, i) for i in range(10)], 0)
        assert stored_bytes(session, "u") - with_result >= 10 * _json_bytes({"fast": 0})
        assert stored_bytes(session, "somebody else") == 0
