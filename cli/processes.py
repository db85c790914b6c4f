"""Child processes of the service commands, started in their own session and stopped by pid."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from workers.queues import pool_queues
from workers.settings import Settings


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that has the kernel SIGTERM the child when we die, so a killed
    command (or test run) leaves no orphaned worker consuming its queues."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


_DIE_WITH_PARENT = _parent_death_signal()


class Child:
    """A subprocess we started; ``stop`` sends SIGTERM to its process group, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path | None) -> None:
        self.name = name
        out = open(log, "ab") if log else None  # noqa: SIM115 - closed in stop()
        self._out = out
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_DIE_WITH_PARENT,  # noqa: PLW1509 - one libc call, no Python locks
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.alive():
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait()
        if self._out:
            self._out.close()
        return self.process.returncode

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)  # our child leads its own group: this reaches only it


def worker_argv(
    settings: Settings,
    pool: str,
    *,
    concurrency: int | None = None,
    name: str | None = None,
    loglevel: str = "INFO",
) -> list[str]:
    """``celery worker`` for a pool: prefork everywhere; GPU: one child, spawned, per device.

    Without gossip and mingle: the worker needs neither (routing reads our own heartbeats), and
    with them a Redis restart can kill the worker's main process ("Unrecoverable error:
    AttributeError ... 'hostname'" while kombu restarts the gossip consumer, celery/kombu#582)
    or leave it connected but no longer consuming (celery/celery#8030)."""
    node = name or (f"gpu{settings.gpu_device}" if pool == "gpu" else "cpu")
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "-P",
        "prefork",
        "-Q",
        ",".join(pool_queues(pool)),
        "-n",
        f"{node}@%h",
        "-l",
        loglevel,
        "--prefetch-multiplier",
        "1",
        "-E",
        "--statedb",
        str(settings.var_dir / "worker-%n.state"),
        "--without-gossip",
        "--without-mingle",
    ]
    if pool == "gpu":
        argv += ["-c", "1", "--pool-start-method", "spawn"]
    else:
        argv += ["-c", str(concurrency or settings.worker_concurrency)]
    return argv


def beat_argv(settings: Settings, loglevel: str = "INFO") -> list[str]:
    """``celery beat``: the reconciler's schedule, one process per deployment, never inside a
    worker (a worker that dies must not take the reconciler with it)."""
    schedule = str(settings.var_dir / "celerybeat-schedule")
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "beat",
        "-s",
        schedule,
        "-l",
        loglevel,
    ]


def worker_environ(settings: Settings, pool: str) -> dict[str, str]:
    extra = {"NUMBA_CACHE_DIR": str(settings.kernel_cache / "numba")}
    if settings.jax_cache:
        extra["JAX_COMPILATION_CACHE_DIR"] = str(settings.jax_cache_dir)
    if pool == "gpu":
        extra |= {
            "CUDA_VISIBLE_DEVICES": settings.gpu_device,
            "NAUTILUS_GPU_DEVICE": settings.gpu_device,
        }
    else:
        extra |= {"JAX_PLATFORMS": "cpu"}
    return settings.child_environ(**extra)


def api_environ(settings: Settings, port: int) -> dict[str, str]:
    """The API's environment: its port, and the folder its workers share metrics through."""
    metrics = str(settings.api_metrics_dir)
    return settings.child_environ(PORT=str(port), PROMETHEUS_MULTIPROC_DIR=metrics)


def api_argv(host: str, port: int, workers: int, app: str = "api:create_app()") -> list[str]:
    """gunicorn serving ``app`` (gevent workers: ``api/gunicorn_conf.py``)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"{host}:{port}",
        "-c",
        "python:api.gunicorn_conf",
        app,
    ]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
