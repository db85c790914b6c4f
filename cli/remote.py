"""The CLI as a remote client: `submit`, `status`, `results`, `cancel`, `delete`, `watch`,
`list`.

Each command takes ``--url`` (default ``NAUTILUS_API_URL``) and ``--api-key`` (default
``NAUTILUS_API_KEY``), read through the settings object; waits show a progress bar.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workers.settings import get_settings

FORMATS = ("json", "csv", "parquet")


def _common(cmd: argparse.ArgumentParser) -> None:
    settings = get_settings()
    cmd.add_argument("--url", default=settings.api_url, help="API URL (NAUTILUS_API_URL)")
    cmd.add_argument("--api-key", default=settings.api_key or None, help="(NAUTILUS_API_KEY)")


def register(subparsers: Any) -> None:
    commands = {
        "submit": ("submit a job from a JSON file (backtest, optimization or stress test)", submit),
        "status": ("a job's status", status),
        "results": ("a completed backtest's results (or one table of them)", results),
        "cancel": ("cancel a job", cancel),
        "delete": ("delete an ended job with its results (frees its stored bytes)", delete),
        "watch": ("follow a job's progress until it ends", watch),
        "list": ("recent jobs, or the leaderboard with --sort METRIC", list_jobs),
    }
    parsers = {}
    for name, (help_text, handler) in commands.items():
        parsers[name] = subparsers.add_parser(name, help=help_text)
        _common(parsers[name])
        parsers[name].set_defaults(handler=handler)
        if name not in ("submit", "list"):
            parsers[name].add_argument("id", help="job id (bt_..., opt_..., st_...)")
    parsers["submit"].add_argument("spec", type=Path, help="the request body as a JSON file")
    parsers["submit"].add_argument(
        "--kind", choices=("auto", "backtest", "optimization", "stress_test"), default="auto"
    )
    parsers["submit"].add_argument("--wait", action="store_true", help="wait for the end")
    parsers["submit"].add_argument("--report", type=Path, help="with --wait: save the report")
    parsers["results"].add_argument("--format", choices=FORMATS, default="json")
    parsers["results"].add_argument("--table", default="equity", help="csv/parquet: which table")
    parsers["results"].add_argument("--output", type=Path, help="write here instead of stdout")
    parsers["list"].add_argument("--sort", metavar="METRIC", help="leaderboard by this metric")
    parsers["list"].add_argument("--kind", choices=("backtest", "optimization", "stress_test"))
    parsers["list"].add_argument("--status")
    parsers["list"].add_argument("--limit", type=int, default=20)


def _client(args: argparse.Namespace):
    from client import Client

    return Client(args.url, api_key=args.api_key)


def kind_of(body: dict[str, Any]) -> str:
    """A request body's kind: optimization requests name parameter ranges, stress tests a
    portfolio, scenarios or Monte Carlo settings."""
    if "parameter_ranges" in body:
        return "optimization"
    if {"portfolio", "scenarios", "include_monte_carlo", "monte_carlo_iterations"} & set(body):
        return "stress_test"
    return "backtest"


def _run(handler):
    def wrapped(args: argparse.Namespace) -> int:
        from client import ClientError

        try:
            return handler(args)
        except (ClientError, OSError, json.JSONDecodeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapped


@_run
def submit(args: argparse.Namespace) -> int:
    body = json.loads(args.spec.read_text())
    kind = kind_of(body) if args.kind == "auto" else args.kind
    client = _client(args)
    send = {
        "backtest": client.submit_backtest,
        "optimization": client.optimize,
        "stress_test": client.stress_test,
    }[kind]
    job = send(body)
    print(job.id)
    if not args.wait:
        return 0
    return _finish(client, job, args.report)


def _finish(client: Any, job: Any, report: Path | None) -> int:
    final = client.wait(job, progress=True)
    print(f"{job.id}: {final['status']}", file=sys.stderr)
    if final["status"] != "completed":
        print(json.dumps(final.get("error")), file=sys.stderr)
        return 1
    if job.kind == "backtest":
        from cli.summary import print_summary

        print_summary(client.results(job).document)
    if report:
        client.report(job, report)
        print(f"report written to {report}", file=sys.stderr)
    return 0


@_run
def status(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).status(args.id), indent=2))
    return 0


@_run
def results(args: argparse.Namespace) -> int:
    from client import Job

    client = _client(args)
    if args.format == "json":
        raw = json.dumps(client.get(f"{Job.of(args.id).path}/results"), indent=2).encode() + b"\n"
    else:
        path = f"{Job.of(args.id).path}/{args.table}"
        raw = client.request("GET", path, params={"format": args.format}).content
    if args.output:
        args.output.write_bytes(raw)
    else:
        sys.stdout.buffer.write(raw)
    return 0


@_run
def cancel(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).cancel(args.id), indent=2))
    return 0


@_run
def delete(args: argparse.Namespace) -> int:
    _client(args).delete(args.id)
    print(f"{args.id} deleted", file=sys.stderr)
    return 0


@_run
def watch(args: argparse.Namespace) -> int:
    final = _client(args).wait(args.id, progress=True)
    print(f"{args.id}: {final['status']}")
    return 0 if final["status"] == "completed" else 1


@_run
def list_jobs(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    client = _client(args)
    if args.sort:
        board = client.leaderboard(args.sort, args.limit)
        table = Table(title=f"Leaderboard by {board['label']} ({board['unit']})")
        for column in ("#", "id", "name", "strategy", board["metric"]):
            table.add_column(column)
        for rank, e in enumerate(board["items"], start=1):
            table.add_row(
                str(rank), e["id"], e["name"] or "", e["strategy_id"] or "", str(e["value"])
            )
    else:
        filters = {k: v for k, v in (("kind", args.kind), ("status", args.status)) if v}
        table = Table(title="Jobs")
        for column in ("id", "kind", "status", "progress", "name"):
            table.add_column(column)
        for j in client.jobs(limit=args.limit, **filters):
            table.add_row(
                j["id"], j["kind"], j["status"], f"{j['progress_percentage']:.1f}%", j["name"] or ""
            )
    Console().print(table)
    return 0
