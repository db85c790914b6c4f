"""Where a submit's server CPU goes, sampled in the API's gunicorn workers and in the minimal
floor's (``bench/minimal_app.py``), under ``bench/api_bench.py``'s load (16 connections, 64
owners, the same body).

py-spy samples both servers' worker processes throughout, while the load goes to one server and
then the other in ``SLICE_S`` slices, as the bench interleaves its figures: a machine whose speed
drifts (a shared VM's moved by half within minutes) weighs on both alike. Only a process on the
CPU is sampled (an idle server, or a greenlet waiting on PostgreSQL or Redis, takes no sample),
and nothing is added per call as with ``cProfile``, so many small calls are not inflated against
a few long ones. A function's share of a server's samples, times that server's CPU per request
over its slices, is its inclusive CPU per request. The native time of C extensions (psycopg's
libpq calls, for one) falls to the Python function that called them.

Needs py-spy (the ``dev`` extra) and the right to trace the workers (root, or CAP_SYS_PTRACE).
Usage: python bench/api_profile.py [--seconds 12] [--top 45] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import api_bench, loadgen  # noqa: E402

SLICE_S = 2.0
"""The load runs in slices this long, the queued jobs cancelled between them (as in the bench)."""
SPY_LIMIT_S = 3600
"""py-spy's own time limit: only a sampler left behind by a crashed run ever reaches it."""
LIBRARY = re.compile(r"^(.*/site-packages|.*/lib/python3\.\d+)/")
SERVERS = {
    "api": ("api:create_app()", "/backtests"),
    "floor": ("bench.minimal_app:create_minimal_app()", "/minimal"),
}
"""Each profiled server: its gunicorn app and the path its submits go to."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed (pip install -e '.[dev]')")
    rounds = round(args.seconds / SLICE_S)  # the bench's slices: --seconds / --rounds each
    bench_args = api_bench.parse_args(
        ["--pg", args.pg, "--redis", args.redis, "--seconds", str(args.seconds)]
        + ["--rounds", str(rounds)]
    )
    with api_bench.Bench(bench_args) as bench:
        profiles = profile(bench, spy, args.rate)
    print(table(profiles, args.top))
    if args.json:
        Path(args.json).write_text(json.dumps(profiles, indent=2))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    api_bench.add_service_arguments(parser)
    parser.add_argument("--seconds", type=float, default=12, help="sampled load per server")
    parser.add_argument("--rate", type=int, default=250, help="samples per second per worker")
    parser.add_argument("--top", type=int, default=45, help="functions listed")
    parser.add_argument("--json", help="also write every function's figures here")
    args = parser.parse_args(argv)
    if args.rate < 1 or args.seconds < SLICE_S:
        parser.error(f"--rate must be at least 1 and --seconds at least {SLICE_S:g}")
    return args


def profile(bench: api_bench.Bench, spy: str, rate: int) -> dict[str, Any]:
    """Serve every server and warm it, then sample their workers through the bench's
    interleaved submits (``Bench.interleaved``: its own first slice per server is sampled too,
    warm by then, so it weighs on the shares as any other slice; it does not count in the CPU
    per request)."""
    targets = {name: (bench.serve(app), path) for name, (app, path) in SERVERS.items()}
    for base, path in targets.values():  # warm: pools, caches, prepared statements
        loadgen.measure(base, api_bench.post_calls(path), bench.args.connections, SLICE_S)
        bench.drain_queued()
    out = {name: Path(tempfile.mkdtemp(prefix=f"nautilus-profile-{name}-")) for name in SERVERS}
    spies = [
        start_spy(spy, worker.pid, rate, out[name])
        for name, (base, _) in targets.items()
        for worker in bench.servers[base].children()
    ]
    try:
        load = bench.interleaved(targets, api_bench.post_calls, between=bench.drain_queued)
        stop_spies(spies)
    finally:
        for process in spies:
            if process.poll() is None:
                process.kill()
    return {name: shares(out[name], load[name]) for name in SERVERS}


def shares(out: Path, load: dict[str, Any]) -> dict[str, Any]:
    """One server's CPU per request (from the bench) and each function's share of it, from its
    samples."""
    samples, total = inclusive_samples(sorted(out.glob("*.txt")))
    shutil.rmtree(out, ignore_errors=True)
    cpu_ms = load["server_cpu_ms"]
    return {
        "requests": load["requests"],
        "server_cpu_ms": cpu_ms,
        "samples": total,
        "us_per_request": {f: round(1e3 * cpu_ms * n / total, 1) for f, n in samples.items()},
    }


def start_spy(spy: str, pid: int, rate: int, out: Path) -> subprocess.Popen[str]:
    """py-spy sampling process ``pid`` into ``out/<pid>.txt`` (raw stacks) until it is stopped
    (``stop_spies``; its own limit, ``SPY_LIMIT_S``, only bounds a run left behind)."""
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(SPY_LIMIT_S)]
        + ["--format", "raw", "--nonblocking", "-o", str(out / f"{pid}.txt")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_spies(spies: list[subprocess.Popen[str]]) -> None:
    """Stop each py-spy as Ctrl-C does (it writes what it sampled) and check it succeeded."""
    for process in spies:
        process.send_signal(signal.SIGINT)
    for process in spies:
        _, said = process.communicate(timeout=60)
        if process.returncode:  # no right to trace (root or CAP_SYS_PTRACE), for one
            raise SystemExit(f"py-spy failed: {said.strip()}")


def inclusive_samples(files: list[Path]) -> tuple[Counter[str], int]:
    """Samples per function (each counted once per stack it appears in), and all samples, from
    py-spy's raw output: one ``frame;frame;... count`` line per distinct stack."""
    counts: Counter[str] = Counter()
    total = 0
    for file in files:
        for line in file.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack:
                continue
            total += int(n)
            for frame in set(map(frame_name, stack.split(";"))):
                counts[frame] += int(n)
    return counts, max(total, 1)


def frame_name(frame: str) -> str:
    """``function (file)``: no line number, the interpreter's and site-packages' prefix cut."""
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    return f"{function} ({LIBRARY.sub('', path).removeprefix(f'{ROOT}/')})"


def table(profiles: dict[str, dict[str, Any]], top: int) -> str:
    api, floor = profiles["api"], profiles["floor"]
    rows = [
        f"server CPU per submit: API {api['server_cpu_ms']} ms ({api['requests']} submits, "
        f"{api['samples']} samples), floor {floor['server_cpu_ms']} ms ({floor['requests']}, "
        f"{floor['samples']})",
        f"{'API us':>8} {'floor us':>8}  function (inclusive CPU per submit)",
    ]
    ranked = sorted(api["us_per_request"].items(), key=lambda item: -item[1])[:top]
    for function, us in ranked:
        theirs = floor["us_per_request"].get(function)
        rows.append(f"{us:8.0f} {'' if theirs is None else f'{theirs:8.0f}':>8}  {function}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
