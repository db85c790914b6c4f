"""A typed client for notebooks and scripts: submit, wait with progress, read results.

``Client(url, api_key)`` sends ``Authorization: Bearer <key>`` when a key is given. ``wait``
follows the job's server-sent events (``GET /events?job=``) and falls back to polling the
job's status when the stream is unavailable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from reports.tables import TABLES, decode

TERMINAL = ("completed", "failed", "cancelled")
PATHS = {"backtest": "/backtests", "optimization": "/optimization", "stress_test": "/stress-test"}
PREFIXES = {"bt": "backtest", "opt": "optimization", "st": "stress_test"}
Progress = Callable[[float, str], None]


class ClientError(RuntimeError):
    """The API answered with an error (its ``{code, status, message, errors}`` body)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"{status}: {message}")


@dataclass(frozen=True)
class Job:
    """A submitted job: its id and kind (``backtest``, ``optimization``, ``stress_test``)."""

    id: str
    kind: str

    @classmethod
    def of(cls, job: Job | str) -> Job:
        if isinstance(job, Job):
            return job
        return cls(job, PREFIXES.get(job.partition("_")[0], "backtest"))

    @property
    def path(self) -> str:
        return f"{PATHS[self.kind]}/{self.id}"


class Table:
    """One table of a backtest's results, e.g. ``results.equity.to_pandas()``."""

    def __init__(self, document: Mapping[str, Any], name: str) -> None:
        self._document, self._name = document, name

    def to_pandas(self) -> pd.DataFrame:
        return TABLES[self._name](self._document)


class Results:
    """A completed backtest's results document with table accessors."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.statistics: dict[str, Any] = document.get("statistics") or {}
        for name in TABLES:
            setattr(self, name, Table(document, name))

    equity: Table
    returns: Table
    trades: Table
    orders: Table
    positions: Table


class Client:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise ClientError(response.status_code, body)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def _submit(self, path: str, body: Mapping[str, Any], kind: str, id_key: str) -> Job:
        return Job(self.request("POST", path, json=dict(body)).json()[id_key], kind)

    def submit_backtest(self, spec: Mapping[str, Any]) -> Job:
        """Queue a backtest (the ``POST /backtests`` body)."""
        return self._submit("/backtests", spec, "backtest", "execution_id")

    def optimize(self, request: Mapping[str, Any]) -> Job:
        """Queue a parameter optimization (the ``POST /optimization/parameters`` body)."""
        return self._submit("/optimization/parameters", request, "optimization", "optimization_id")

    def stress_test(self, request: Mapping[str, Any]) -> Job:
        """Queue a stress test (the ``POST /stress-test`` body)."""
        return self._submit("/stress-test", request, "stress_test", "stress_test_id")

    def status(self, job: Job | str) -> dict[str, Any]:
        return self.get(Job.of(job).path)

    def cancel(self, job: Job | str) -> dict[str, Any]:
        return self.request("POST", f"/jobs/{Job.of(job).id}/cancel").json()

    def delete(self, job: Job | str) -> None:
        """Delete an ended job with its results (``DELETE /jobs/{id}``; a queued or running one
        is a ``ClientError`` 409: cancel it first)."""
        self.request("DELETE", f"/jobs/{Job.of(job).id}")

    def delete_signal_set(self, signal_set_id: str) -> None:
        """Delete an uploaded signal set (``DELETE /data/signals/{id}``; 409 while a queued or
        running backtest trades it)."""
        self.request("DELETE", f"/data/signals/{signal_set_id}")

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return self.get("/jobs", **filters)["items"]

    def leaderboard(self, metric: str = "sharpe_ratio", limit: int = 20) -> dict[str, Any]:
        return self.get("/leaderboard", metric=metric, limit=limit)

    def results(self, job: Job | str) -> Results:
        """A completed backtest's results."""
        return Results(self.get(f"{Job.of(job).path}/results"))

    def table(self, job: Job | str, name: str, fmt: str = "parquet") -> pd.DataFrame:
        """One exported table (``equity``, ``returns``, ``trades``, ``orders``, ``positions``)."""
        raw = self.request("GET", f"{Job.of(job).path}/{name}", params={"format": fmt}).content
        return decode(raw, fmt)

    def report(self, job: Job | str, path: str | Path) -> Path:
        """Save the job's HTML report with plotly.js inline, so the file opens offline."""
        from reports.page import plotly_js

        page = _inline_plotly(self.request("GET", f"{Job.of(job).path}/report").text, plotly_js())
        target = Path(path)
        target.write_text(page)
        return target

    def wait(
        self, job: Job | str, progress: bool | Progress = True, timeout: float = 3600.0
    ) -> dict[str, Any]:
        """Block until the job ends; its final status. ``progress`` True draws a bar (rich),
        a callable receives ``(fraction, message)``."""
        job = Job.of(job)
        with _reporter(progress, job) as report:
            deadline = time.monotonic() + timeout
            try:
                for event in self.events(job, timeout):
                    fraction, message = _progress_of(event)
                    report(fraction, message)
                    if _is_terminal(event):
                        break
            except (requests.RequestException, ValueError):
                pass  # the stream is unavailable: polling below finds the end
            return self._poll(job, report, deadline)

    def events(self, job: Job | str, timeout: float = 3600.0) -> Iterator[dict[str, Any]]:
        """The job's events as they arrive (reconnecting with ``Last-Event-ID``)."""
        job, last = Job.of(job), None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            headers: dict[str, str] = {"Last-Event-ID": last} if last else {}
            with self.session.get(
                f"{self.url}/events",
                params={"job": job.id},
                headers=headers,
                stream=True,
                timeout=self.timeout,
            ) as response:
                response.raise_for_status()
                lines = (str(line) for line in response.iter_lines(decode_unicode=True))
                for entry_id, event in _parse_sse(lines):
                    last = entry_id or last
                    yield event
            if self.status(job)["status"] in TERMINAL:
                return

    def _poll(self, job: Job, report: Progress, deadline: float) -> dict[str, Any]:
        while True:
            status = self.status(job)
            report(_status_fraction(status), status.get("progress_message") or status["status"])
            if status["status"] in TERMINAL or time.monotonic() > deadline:
                return status
            time.sleep(0.5)


def _inline_plotly(page: str, script: str) -> str:
    start = page.index("<script src=")
    end = page.index("</script>", start) + len("</script>")
    return page[:start] + f"<script>{script}</script>" + page[end:]


def _parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    entry_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield entry_id, json.loads("\n".join(data))
            entry_id, data = None, []
        elif line.startswith("id:"):
            entry_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def _progress_of(event: dict[str, Any]) -> tuple[float, str]:
    data = event.get("data") or {}
    if "progress_percentage" in data:
        return data["progress_percentage"] / 100.0, data.get("progress_message") or event["type"]
    if data.get("iterations_total"):
        done, total = data["iterations_completed"], data["iterations_total"]
        return done / total, f"{done}/{total} sets"
    if _is_terminal(event):
        return 1.0, data.get("stage") or event["type"]
    return 0.0, data.get("stage") or event["type"]


def _is_terminal(event: dict[str, Any]) -> bool:
    stage = (event.get("data") or {}).get("stage")
    return event["type"].endswith(("_complete", "_failed", "_cancelled")) or stage in TERMINAL


def _status_fraction(status: dict[str, Any]) -> float:
    if "progress_percentage" in status:
        return (status["progress_percentage"] or 0.0) / 100.0
    return (status.get("progress") or {}).get("percentage", 0.0) / 100.0


def _silent(fraction: float, message: str = "") -> None:
    """Progress reports nobody asked for."""


class _reporter:
    """Context manager giving ``report(fraction, message)`` for ``wait``'s ``progress``."""

    def __init__(self, progress: bool | Progress, job: Job) -> None:
        self._progress, self._job = progress, job
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if callable(self._progress):
            return self._progress
        if not self._progress:
            return _silent
        from cli.progress import progress_bar

        self._bar = progress_bar(self._job.id)
        return self._bar.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
