"""Service commands: `serve`, `worker`, `beat`, `migrate`, `demo`, `subscribe`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from workers.settings import get_settings


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser("demo", help="start everything locally, run a demo backtest")
    demo.add_argument("--port", type=int, help="API port (default PORT, or a free one)")
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the job")
    demo.add_argument("--serve", action="store_true", help="keep serving after the demo")
    demo.set_defaults(handler=cmd_demo)

    serve = subparsers.add_parser("serve", help="run the API (gunicorn); embedded stores if unset")
    serve.add_argument("--host", help="bind address (default HOST)")
    serve.add_argument("--port", type=int, help="port (default PORT)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (default WORKERS)")
    serve.add_argument("--with-worker", action="store_true", help="also run one CPU worker")
    serve.set_defaults(handler=cmd_serve)

    worker = subparsers.add_parser("worker", help="run a Celery worker for one pool")
    worker.add_argument("--pool", choices=("cpu", "gpu"), default="cpu")
    worker.add_argument("--concurrency", type=int, help="CPU pool processes")
    worker.add_argument(
        "--device", help="GPU ordinal this worker owns (default NAUTILUS_GPU_DEVICE)"
    )
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(handler=cmd_worker)

    beat = subparsers.add_parser("beat", help="run the reconciler's schedule (one per deployment)")
    beat.add_argument("--loglevel", default="INFO")
    beat.set_defaults(handler=cmd_beat)

    migrate = subparsers.add_parser("migrate", help="apply the database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    sub = subparsers.add_parser("subscribe", help="print job events as JSON lines")
    sub.add_argument("--job", help="follow one job until it ends")
    sub.add_argument("--from-start", action="store_true", help="replay the stream from its start")
    sub.add_argument("--group", help="read through this consumer group (acknowledging)")
    sub.add_argument(
        "--consumer",
        default=f"cli-{os.getpid()}",
        help="this reader's name in the group: keep it across restarts to replay what it read "
        "but never acknowledged",
    )
    sub.add_argument(
        "--claim-idle",
        type=float,
        default=30.0,
        help="--group: claim entries other consumers left unacknowledged this many seconds",
    )
    sub.add_argument("--count", type=int, help="exit after this many events")
    sub.add_argument("--timeout", type=float, default=3600.0, help="--job: seconds to wait")
    sub.set_defaults(handler=cmd_subscribe)


def cmd_demo(args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    return run_demo(get_settings(), args.port, args.timeout, serve=args.serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from cli.stack import Stack

    settings = get_settings()
    stack = Stack(
        settings,
        args.host or settings.host,
        args.port or settings.port,
        web_workers=args.workers or settings.web_workers,
    )
    with stack:
        stack.start(worker=args.with_worker)
        print(f"serving {stack.url} (docs at {stack.url}/docs); Ctrl-C stops")
        stack.serve_until_signal()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker for one pool, supervised: restarted if it dies (``cli/supervise.py``)."""
    from dataclasses import replace

    from cli.processes import worker_argv, worker_environ

    settings = get_settings()
    if args.device is not None:
        settings = replace(settings, gpu_device=args.device)
    if not _redis_ready(settings):
        return 2
    argv = worker_argv(settings, args.pool, concurrency=args.concurrency, loglevel=args.loglevel)
    # a warm shutdown lets running tasks finish: up to their hard time limit
    return _supervise(f"worker-{args.pool}", argv, worker_environ(settings, args.pool),
                      stop_timeout=settings.task_time_limit_s + 10.0)  # fmt: skip


def cmd_beat(args: argparse.Namespace) -> int:
    """Celery beat (the reconciler's schedule), supervised like a worker."""
    from cli.processes import beat_argv

    settings = get_settings()
    if not _redis_ready(settings):
        return 2
    return _supervise("beat", beat_argv(settings, args.loglevel), settings.child_environ())


def _redis_ready(settings: Any) -> bool:
    from workers.embedded_redis import is_up

    if settings.embedded_redis and not is_up(settings):
        print(
            "error: no REDIS_URL and the embedded Redis is not running; start "
            "`nautilus-bt serve` first or set REDIS_URL",
            file=sys.stderr,
        )
        return False
    return True


def _supervise(name: str, argv: list[str], env: dict[str, str], stop_timeout: float = 20.0) -> int:
    """Run one child (its output on ours) until SIGINT or SIGTERM, restarting it if it dies."""
    from cli.processes import Child
    from cli.supervise import Supervisor

    supervisor = Supervisor(say=lambda line: print(f"[supervisor] {line}", flush=True))
    child = supervisor.add(name, lambda: Child(name, argv, env, None))
    print(f"[supervisor] started {name} (pid {child.pid})", flush=True)
    try:
        supervisor.run_until_signal()
    finally:
        supervisor.stop(stop_timeout)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from store.schema import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    print(f"database at head: {settings.database_url.split('@')[-1]}")
    return 0


def cmd_subscribe(args: argparse.Namespace) -> int:
    from workers.redis_client import make_redis
    from workers.subscriber import job_events, stream_events

    client = make_redis(get_settings(), socket_timeout=30)
    entries: Iterator[tuple[str | None, dict[str, Any], Callable[[], None] | None]]
    if args.job:
        entries = ((None, event, None) for event in job_events(client, args.job, args.timeout))
    else:
        entries = stream_events(
            client,
            from_start=args.from_start,
            group=args.group,
            consumer=args.consumer,
            claim_idle_ms=int(args.claim_idle * 1000),
        )
    for n, (entry_id, event, ack) in enumerate(entries, start=1):
        print(json.dumps({**event, "entry_id": entry_id} if entry_id else event), flush=True)
        if ack:
            ack()  # printed: handled
        if args.count and n >= args.count:
            break
    return 0
