"""Process isolation: how fast a slot is reused after a hard kill, and that recycling leaks no
process.

    python benchmarks/isolation.py [--database-url URL] [--runs 5] [--jobs 10000]

1. Kill to reuse: a worker with one slot and one child runs a job that hangs past its 1 s
   timeout (or allocates past its 200 MiB memory limit), then a no-op job. Measured: from the
   deadline (the attempt's start plus 1 s) or the kill (its start plus its measured wall time)
   to the next job's start, which includes stopping the child and starting a fresh one.
2. Recycling: JOBS no-op jobs on 2 children replaced every 100 jobs; counts the processes under
   this one before and after the run (none may be left).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from workhorse import Worker, WorkerConfig, Workhorse

app = Workhorse()


@app.task(isolation="process", timeout=1, max_attempts=1)
def hang() -> None:
    time.sleep(3600)


@app.task(isolation="process", memory_limit="200MiB", max_attempts=1)
def hog() -> int:
    chunks = [b"x" * (10 * 1024**2) for _ in range(100)]
    return len(chunks)


@app.task(isolation="process", max_attempts=1)
async def noop() -> None:
    """Does nothing."""


def descendants() -> set[int]:
    """Processes below this one (read from /proc), zombies excluded."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def run(**config: object) -> Worker:
    worker = Worker(app, WorkerConfig(burst=True, **config))  # type: ignore[arg-type]
    asyncio.run(worker.run_async())
    return worker


def kill_to_reuse(kind: str) -> float:
    """Seconds from the deadline (timeout) or the kill (memory) to the next job's start."""
    doomed = (hang if kind == "timeout" else hog).enqueue().id
    after = noop.enqueue().id
    run(concurrency=1, processes=1)
    killed, nxt = app.get_job(doomed), app.get_job(after)
    assert killed.errors and nxt.started_at and killed.started_at
    ran = 1.0 if kind == "timeout" else killed.attempt_usage[0].wall_seconds
    return (nxt.started_at - killed.started_at).total_seconds() - ran


def recycling(jobs: int) -> dict[str, int]:
    app.enqueue_many([noop.prepare() for _ in range(jobs)])
    before = descendants()
    worker = run(concurrency=8, processes=2, max_jobs_per_child=100)
    after = descendants()
    return {
        "succeeded": worker.stats.succeeded,
        "processes_before": len(before),
        "processes_after": len(after),
        "left_running": len(after - before),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app.database_url = args.database_url or f"sqlite:///{tmp}/isolation.db"
        for kind in ("timeout", "memory"):
            gaps = sorted(kill_to_reuse(kind) for _ in range(args.runs))
            shown = ", ".join(f"{gap * 1000:.0f}" for gap in gaps)
            since = "deadline" if kind == "timeout" else "kill"
            median = statistics.median(gaps) * 1000
            print(f"{kind}: next job started {median:.0f} ms after the {since} (all: {shown} ms)")
        print("recycling:", recycling(args.jobs))
        app.close()


if __name__ == "__main__":
    main()
