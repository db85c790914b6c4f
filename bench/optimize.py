"""Optimization benchmarks (issue 5's figures): the engine alone, and through the API and chord.

Cases:
  kernel   engine only, in this process: the 10,000-set SMA grid (fast 1..100 x slow 101..200)
           on 10 synthetic symbols x 10 years of daily bars, holdout validation, scored in the
           batches header tasks would get, then the callback's ranking, PBO and DSR. Any device.
  seed     the seed's example (momentum_factor, 5 x 4 x 3 = 60 sets, 5 symbols, one quarter)
           through the API and the chord, with one CPU worker of 2 processes
  sweep    the 10,000-set optimization through the API and the chord, same worker
  scaling  the sweep's work with a worker of 1 process, then of 2, kernels single-threaded
           (NAUTILUS_KERNEL_THREADS=1), so the ratio measures scaling by processes;
           ``cpu_bound_speedup`` is the most the second process could give here: the one-process
           time over the two-process run's busy CPU (every process on the machine) spread
           evenly over the cores

    python bench/optimize.py --cases kernel                 # also on a GPU machine
    python bench/optimize.py --cases seed,sweep,scaling     # needs PostgreSQL and Redis

Service cases use a scratch database on --pg (default 127.0.0.1:5432, user postgres) and Redis
database --redis-db on 127.0.0.1:6379; each case runs once to warm the workers (compilation)
and reports the best of --repeat warm runs: wall seconds from POST to the job's terminal event
on its Redis channel (as a peer service follows a job: no poll loads the API and the database
during the run; until 2026-12-01 GET was polled every 100 ms), sets per second, and the chord's
overhead against the kernel time. Workers keep compiled kernels in var/kernel-cache and skip
the start-up warm-up (the first run compiles).
``--logs DIR`` keeps each case's worker log at INFO level: every task's duration (the plan, each
batch, the finishing step), which is how the chord's serial part is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import job_events  # noqa: E402

RUN_TIMEOUT_S = 1800.0
"""The first run of a case compiles its kernels into an empty cache: minutes on a loaded VM."""
SWEEP_SPEC = {
    "backtest_name": "bench 10k",
    "start_date": "2010-01-04",
    "end_date": "2019-12-31",
    "symbols": [f"S{i:02d}" for i in range(10)],
    "data_sources": ["synthetic"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {"fast_period": 10, "slow_period": 150},
    "commission_rate": 0.001,
}
SWEEP = {
    "base_spec": SWEEP_SPEC,
    "parameter_ranges": {
        "fast_period": {"min": 1, "max": 100},
        "slow_period": {"min": 101, "max": 200},
    },
    "optimization_target": "sharpe_ratio",
}
SEED = {
    "base_spec": {
        "backtest_name": "seed example",
        "start_date": "2024-01-01T00:00:00Z",
        "end_date": "2024-03-31T23:59:59Z",
        "symbols": ["SPY", "QQQ", "IWM", "TSLA", "AAPL"],
        "data_sources": ["synthetic"],
        "strategy_id": "momentum_factor_v2.1",
        "strategy_parameters": {
            "lookback_period": 20,
            "momentum_threshold": 0.05,
            "rebalance_frequency": "weekly",
        },
        "initial_capital": 1_000_000.0,
        "commission_rate": 0.001,
        "slippage_basis_points": 1.0,
        "benchmark_symbol": "SPY",
        "risk_free_rate": 0.02,
    },
    "parameter_ranges": {
        "lookback_period": [10, 15, 20, 25, 30],
        "momentum_threshold": [0.02, 0.05, 0.08, 0.10],
        "rebalance_frequency": ["daily", "weekly", "monthly"],
    },
    "optimization_target": "sharpe_ratio",
    "max_iterations": 100,
    "use_parallel": True,
}


def kernel_case(batch: int, repeat: int) -> dict:
    """Score the 10,000 sets in ``batch``-sized header batches here, then the callback's work."""
    from accel import jit
    from accel.device import device_label
    from engine.data import synthetic_market
    from engine.optimize import parse_optimization_request

    jit.configure(ROOT / "var" / "bench-kernel-cache")
    from engine.optimize.run import optimization_document, score_sets, spec_folds, with_baseline

    request = parse_optimization_request(SWEEP)
    spec = request.base_spec
    market = synthetic_market(list(spec.symbols), spec.start_date, spec.end_date, seed=42)
    folds = spec_folds(request, market)
    stubs = with_baseline(request, request.candidates())
    parts = [stubs[i : i + batch] for i in range(0, len(stubs), batch)]

    def score() -> list:
        return [t for part in parts for t in score_sets(request, market, part, folds)]

    started = time.perf_counter()
    trials = score()
    first = time.perf_counter() - started
    warm = min(_seconds(score) for _ in range(repeat))
    callback = _seconds(lambda: optimization_document(request, trials, folds, elapsed_s=0.0))
    return {
        "device": device_label(),
        "sets": len(stubs),
        "bars": market.n_bars,
        "symbols": len(spec.symbols),
        "batches": len(parts),
        "first_s": round(first, 3),
        "kernel_s": round(warm, 3),
        "sets_per_s": round(len(stubs) / warm, 1),
        "callback_s": round(callback, 3),
    }


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Deployment:
    """A scratch database, a Redis database, one CPU worker subprocess and the API in-process."""

    def __init__(
        self, pg: str, redis_db: int, concurrency: int, var: Path, threads: int, loglevel: str
    ) -> None:
        import psycopg

        from store.schema import upgrade
        from workers.settings import load_settings

        self.dbname = f"nautilus_bench_{uuid.uuid4().hex[:8]}"
        self.admin = (
            f"host={pg.split(':')[0]} port={pg.split(':')[1]} user=postgres dbname=postgres"
        )
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        url = f"postgresql+psycopg://postgres@{pg}/{self.dbname}"
        upgrade(url)
        env = {"DATABASE_URL": url, "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
               "NAUTILUS_VAR_DIR": str(var), "LOG_LEVEL": loglevel,
               "NAUTILUS_PROGRESS_INTERVAL": "0",
               "NAUTILUS_KERNEL_THREADS": str(threads),
               # steady state: compiled kernels kept across runs under var/, and no start-up
               # warm-up compiling every strategy while the measured runs go on (the first,
               # unmeasured run compiles what the case needs in each process)
               "NAUTILUS_KERNEL_CACHE_DIR": str(ROOT / "var" / "kernel-cache"),
               "NAUTILUS_KERNEL_WARMUP": "0"}  # fmt: skip
        self.settings = load_settings(env)
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.worker = None
        self.client = None

    def start(self) -> Deployment:
        import redis

        from api import create_app
        from cli.processes import Child, worker_argv, worker_environ

        redis.Redis.from_url(self.settings.redis_url).flushdb()
        argv = worker_argv(
            self.settings, "cpu", concurrency=self.concurrency, loglevel=self.loglevel
        )
        log = self.settings.var_dir / f"worker-{self.concurrency}.log"
        self.worker = Child("bench-worker", argv, worker_environ(self.settings, "cpu"), log)
        from cli.keys import create_key

        self.client = create_app(self.settings).test_client()
        key = create_key(self.settings, "bench", "admin")[1]
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        self._wait_worker()
        return self

    def _wait_worker(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.client.get("/health").get_json() or {}
            if (health.get("workers_alive") or {}).get("cpu"):  # anonymous: counts only
                return
            time.sleep(0.2)
        raise RuntimeError(f"no worker heart-beat; see {self.settings.var_dir}")

    def run(self, body: dict) -> tuple[float, dict, float]:
        """Seconds from POST to the job's terminal event, the final document (read after), and
        the CPU seconds the whole machine was busy meanwhile (every process: workers,
        PostgreSQL, Redis, this process's API)."""
        import redis

        pubsub = redis.Redis.from_url(self.settings.redis_url).pubsub()
        pubsub.psubscribe(job_events.CHANNELS)
        try:
            busy = busy_cpu_s()
            started = time.perf_counter()
            response = self.client.post("/optimization/parameters", json=body)
            assert response.status_code == 202, response.get_json()
            job_id = response.get_json()["optimization_id"]
            job_events.wait_for(pubsub, job_id, ends_the_job, RUN_TIMEOUT_S)
            seconds, busy = time.perf_counter() - started, busy_cpu_s() - busy
        finally:
            pubsub.close()
        answer = self.client.get(f"/optimization/{job_id}")
        assert answer.status_code == 200, answer.get_json()
        return seconds, answer.get_json(), busy

    def stop(self) -> None:
        import psycopg

        if self.worker is not None:
            self.worker.stop()
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


def ends_the_job(event: dict) -> bool:
    from store.models import TERMINAL

    return event["data"].get("stage") in TERMINAL


def busy_cpu_s() -> float:
    """CPU seconds this machine's cores have spent working since boot, all cores together
    (user, nice, system and interrupts; guest time is already inside user and nice, and steal
    is the hypervisor's, not ours)."""
    import psutil

    times = psutil.cpu_times()
    interrupts = getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    return times.user + times.nice + times.system + interrupts


def service_case(name: str, body: dict, args, concurrency: int, threads: int = 0) -> dict:
    """``threads`` per kernel call in each worker process (0: the settings' automatic choice)."""
    with tempfile.TemporaryDirectory() as var:
        level = "INFO" if args.logs else "WARNING"
        deployment = Deployment(args.pg, args.redis_db, concurrency, Path(var), threads, level)
        try:
            deployment.start()
            first, _, _ = deployment.run(body)
            runs = [deployment.run(body) for _ in range(args.repeat)]
        finally:
            deployment.stop()
            if args.logs:  # each task's duration, from Celery's INFO lines
                args.logs.mkdir(parents=True, exist_ok=True)
                log = f"worker-{concurrency}.log"
                shutil.copy(Path(var) / log, args.logs / f"{name}-{log}")
    seconds, document, busy = min(runs, key=lambda r: r[0])
    assert document["status"] == "completed", document.get("error")
    sets = document["optimization_summary"]["iterations_completed"]
    return {
        "case": name,
        "worker_processes": concurrency,
        "kernel_threads": threads or "auto",
        "sets": sets,
        "first_s": round(first, 3),
        "end_to_end_s": round(seconds, 3),
        "sets_per_s": round(sets / seconds, 1),
        "engine_time_s": document["optimization_summary"]["optimization_time_seconds"],
        "hardware_used": document["hardware_acceleration"]["hardware_used"],
        "busy_cpu_s": round(busy, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="kernel")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1024, help="sets per batch (kernel case)")
    parser.add_argument("--pg", default="127.0.0.1:5432")
    parser.add_argument("--logs", type=Path, help="keep the workers' INFO logs in this folder")
    parser.add_argument("--redis-db", type=int, default=1, help="0 and 1 are never leased by tests")
    args = parser.parse_args()
    cases = args.cases.split(",")
    out = []
    if "kernel" in cases:
        out.append({"case": "kernel", **kernel_case(args.batch, args.repeat)})
    if "seed" in cases:
        out.append(service_case("seed", SEED, args, concurrency=2))
    if "sweep" in cases:
        out.append(service_case("sweep", SWEEP, args, concurrency=2))
    if "scaling" in cases:
        one = service_case("scaling", SWEEP, args, concurrency=1, threads=1)
        two = service_case("scaling", SWEEP, args, concurrency=2, threads=1)
        two["speedup_vs_1"] = round(one["end_to_end_s"] / two["end_to_end_s"], 2)
        # the shortest wall time the two-process run's total CPU allows on this machine's cores
        floor_s = two["busy_cpu_s"] / (os.cpu_count() or 1)
        two["cpu_bound_speedup"] = round(one["end_to_end_s"] / floor_s, 2)
        out += [one, two]
    for row in out:
        print(json.dumps({**row, "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
