"""Where enqueue -> start time goes: one instrumented run per backend.

Jobs are enqueued one per call at a paced rate to idle workers (real ``workhorse worker``
processes). Each job's stages come from timestamps on one host's wall clock:

- ``call``: the enqueue call is made (the job's ``run_at``, the app's clock in ``enqueue``);
- ``db``: the backend call starts (after building the job and its JSON) and ``returned``: it
  returned, so the statement, its commit (with the WAL flush or fsync) and the round trip are
  ``returned - db``;
- ``woken``: a listener of the same class the workers use (LISTEN/NOTIFY on PostgreSQL,
  ``PRAGMA data_version`` on SQLite) in this process reports new work: NOTIFY delivery or the
  SQLite watch's check interval;
- ``claimed``: the claim's clock (the job's ``started_at``, taken as the worker builds its claim,
  after its own listener woke it and the fetcher ran);
- ``body``: the job's body starts (its result is ``time.time()``): the claim's round trips
  (on SQLite its lock-free check for queued work first) and the hand-off to the executor.

Two more phases turn the commit's flush off (PostgreSQL ``synchronous_commit=off``, SQLite
``synchronous=off``), for the producer's connection only, then for the workers' too, to show what
the flush of the enqueue's commit and of the claim's commit cost. The phases are interleaved,
``--runs`` rounds of them.

    python benchmarks/latency_breakdown.py --database-url postgresql://127.0.0.1/wh_bench
    python benchmarks/latency_breakdown.py              # a fresh SQLite file
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from workhorse import Workhorse
from workhorse.backends import base as b
from workhorse.bench.throughput import all_jobs
from workhorse.jobs import JobState

app = Workhorse()


@app.task(max_attempts=1)
async def stamp() -> float:
    """The time the body started."""
    return time.time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--rate", type=float, default=500.0, help="jobs/s offered")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="rounds of both phases, interleaved")
    parser.add_argument("--json", action="store_true", help="every run's figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="workhorse-breakdown-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/breakdown.db"
        quick = _no_flush(url)
        phases = {
            "as configured": (url, url),
            "no flush on enqueue": (url, quick),
            "no flush anywhere": (quick, quick),
        }
        runs: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
        for _ in range(args.runs):
            for phase, (worker_url, producer_url) in phases.items():
                runs[phase].append(run_phase(worker_url, producer_url, args))
                print(f"{phase}: {_loadavg()}", file=sys.stderr)
    if args.json:
        print(json.dumps({"backend": url.split(":", 1)[0], "runs": runs}, indent=2))
        return
    for phase, results in runs.items():
        print(_table(phase, results))


def _loadavg() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _table(phase: str, results: list[dict[str, Any]]) -> str:
    """Each stage's p50 and p99: the median over the runs (and each run's)."""
    offered = statistics.median(r["offered_per_s"] for r in results)
    lines = [f"\n{phase} ({len(results)} runs, {offered:.0f} jobs/s offered), ms:",
             "| stage | p50 | p99 |", "| --- | --- | --- |"]  # fmt: skip
    for stage in STAGES:
        cells = [_cell([r["ms"][stage][key] for r in results]) for key in ("p50", "p99")]
        lines.append(f"| {stage} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _cell(values: list[float]) -> str:
    each = " · ".join(f"{v:.2f}" for v in values)
    return f"{statistics.median(values):.2f} ({each})"


def _no_flush(url: str) -> str:
    joiner = "&" if "?" in url else "?"
    if url.startswith("sqlite"):
        return f"{url}{joiner}synchronous=off"
    return f"{url}{joiner}options=-c%20synchronous_commit%3Doff"


def run_phase(url: str, producer_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Workers on ``url`` idle; jobs arrive through ``producer_url``; the stages' percentiles."""
    app.close()
    app.database_url = producer_url
    app.migrate()  # a new database: the workers would race this process to it
    queue = f"breakdown-{uuid.uuid4().hex[:8]}"
    timed = _time_backend_calls(app)
    workers = [_spawn_worker(url, queue, args.concurrency) for _ in range(args.workers)]
    wakes: list[float] = []
    watching = threading.Event()
    watcher = threading.Thread(target=_watch, args=(app, queue, wakes, watching), daemon=True)
    watcher.start()
    try:
        _wait_for_workers(app, args.workers)
        returned = _offer(app, queue, args.rate, args.duration)
        _wait_done(app, queue, len(returned))
    finally:
        watching.set()
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
    return _stages(app, queue, returned, timed, sorted(wakes))


def _time_backend_calls(target: Workhorse) -> list[float]:
    """Record when each ``job_insert_many`` starts (wrapping the app's backend)."""
    backend = target.backend
    starts: list[float] = []
    inner = backend.job_insert_many

    def timed(params: b.JobInsertManyParams) -> list[b.InsertedJob]:
        starts.append(time.time())
        return inner(params)

    backend.job_insert_many = timed  # type: ignore[method-assign]
    return starts


def _watch(target: Workhorse, queue: str, wakes: list[float], stop: threading.Event) -> None:
    listener = target.backend.listener([queue])
    if listener is None:
        return
    try:
        while not stop.is_set():
            if listener.wait(0.2):
                wakes.append(time.time())
    finally:
        listener.close()


def _offer(target: Workhorse, queue: str, rate: float, duration: float) -> list[float]:
    """Enqueue one job per call on a fixed schedule (a late call goes at once); when each
    returned."""
    task = stamp.with_options(queue=queue)
    total = int(rate * duration)
    returned: list[float] = []
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        task.enqueue()
        returned.append(time.time())
    return returned


def _spawn_worker(url: str, queue: str, concurrency: int) -> subprocess.Popen[bytes]:
    argv = [
        *(sys.executable, "-m", "workhorse", "worker", "--app", "latency_breakdown:app"),
        *("--queues", queue, "--concurrency", str(concurrency), "--log-level", "warning"),
    ]
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "WORKHORSE_DATABASE_URL": url, "PYTHONPATH": path}
    return subprocess.Popen(argv, env=env)


def _wait_for_workers(target: Workhorse, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(target.admin.list_workers()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not start")
        time.sleep(0.05)
    time.sleep(1.0)  # registered just before the first claim: let them go idle


def _wait_done(target: Workhorse, queue: str, total: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = target.list_jobs(queue=queue, states=[JobState.SUCCEEDED], limit=total)
        if len(done) >= total:
            return
        time.sleep(0.2)
    raise TimeoutError("the jobs did not finish")


def _stages(
    target: Workhorse, queue: str, returned: list[float], db: list[float], wakes: list[float]
) -> dict[str, Any]:
    jobs = sorted(all_jobs(target, queue), key=lambda job: job.id)
    rows: dict[str, list[float]] = {key: [] for key in STAGES}
    for job, back, db_start in zip(jobs, returned, db, strict=True):
        call = job.run_at.timestamp()
        claimed = job.started_at.timestamp() if job.started_at else float("nan")
        body = float(job.result)
        woken = _first_after(wakes, db_start)
        marks = {"call": call, "db": db_start, "returned": back, "woken": woken,
                 "claimed": claimed, "body": body}  # fmt: skip
        for key, (first, last) in STAGES.items():
            rows[key].append((marks[last] - marks[first]) * 1000)
    return {
        "jobs": len(jobs),
        "offered_per_s": len(returned) / (returned[-1] - jobs[0].run_at.timestamp()),
        "ms": {key: _summary(values) for key, values in rows.items()},
    }


STAGES: dict[str, tuple[str, str]] = {
    "build job (call made -> backend call)": ("call", "db"),
    "statement + commit (backend call -> returned)": ("db", "returned"),
    "listener woken after the backend call began": ("db", "woken"),
    "returned -> claim built (worker woken, fetcher)": ("returned", "claimed"),
    "claim built -> body (poll, claim, hand-off)": ("claimed", "body"),
    "enqueue returned -> body": ("returned", "body"),
    "enqueue called -> body": ("call", "body"),
}
"""Each stage: from one mark to another."""


def _first_after(sorted_times: list[float], t: float) -> float:
    index = bisect.bisect_left(sorted_times, t)
    return sorted_times[index] if index < len(sorted_times) else float("nan")


def _summary(values: list[float]) -> dict[str, float]:
    clean = sorted(v for v in values if not math.isnan(v))
    if len(clean) < 2:
        return {"p50": float("nan"), "p99": float("nan"), "mean": float("nan")}
    cuts = statistics.quantiles(clean, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p99": round(cuts[98], 2),
            "mean": round(statistics.fmean(clean), 2)}  # fmt: skip


if __name__ == "__main__":
    main()
