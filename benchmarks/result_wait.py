"""What ``result()`` adds to a job's completion: one job at a time, a worker in this process.

For each of --samples no-op jobs (the first --warmup left out): enqueue it, wait in
``handle.result()``, and take three times on one wall clock:

- ``finished_at``: the job's recorded end, taken as its worker starts writing the outcome;
- the write's return to the worker (the backend's ``job_finish_many`` wrapped here): just after
  the outcome's commit;
- ``result()`` returning in the waiter.

Printed: p50/p99 of the write itself (``finished_at`` to its return: the job's own completion, the
statement and its commit) and of ``result()`` after the write's return (the notification or commit
watch, the waiter's wake-up and its read of the job). The second is a lower bound of the time after
the commit, as ``workhorse bench --mode workflow``'s ``result_overhead_ms`` (after ``finished_at``)
is an upper bound. With ``--worker process`` the worker is a ``workhorse worker`` process of its own
and only the upper bound can be taken.

    python benchmarks/result_wait.py --database-url postgresql://postgres@127.0.0.1/wh_wait
    python benchmarks/result_wait.py                # a fresh SQLite file
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.bench.tasks import app, noop
from workhorse.bench.throughput import spawn_worker
from workhorse.bench.workflow import running_worker


class Commits:
    """The backend, recording when each outcome's write returned to the worker."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner
        self.at: dict[int, datetime] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def job_finish_many(self, params: b.JobFinishManyParams) -> list[int]:
        written = self._inner.job_finish_many(params)
        self.at.update(dict.fromkeys(written, datetime.now(UTC)))
        return written


@contextmanager
def worker_process(url: str, queue: str) -> Iterator[None]:
    proc = spawn_worker(url, queue, 10, burst=False)
    time.sleep(3)  # its start-up: imports, registration, the listener
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def probe(url: str, samples: int, warmup: int, in_process: bool) -> dict[str, object]:
    app.close()
    app.database_url = url
    app.migrate()
    commits = Commits(app.backend)
    app.use_backend(cast(Backend, commits))
    queue = f"wait-{uuid.uuid4().hex[:8]}"
    step = noop.with_options(queue=queue)
    seen: list[tuple[int, datetime]] = []
    running = running_worker(app, queue) if in_process else worker_process(url, queue)
    with running:
        for _ in range(samples):
            handle = step.enqueue()
            handle.result(timeout=30)
            seen.append((handle.id, datetime.now(UTC)))
    # A waiter may return before the worker's thread has the write's answer back: the worker
    # has stopped since, so every write's return is recorded by now.
    write_ms, after_write_ms, after_end_ms = [], [], []
    for job_id, returned in seen[warmup:]:
        finished = app.get_job(job_id).finished_at
        assert finished is not None
        after_end_ms.append(_ms(returned - finished))
        if in_process:
            write_ms.append(_ms(commits.at[job_id] - finished))
            after_write_ms.append(_ms(returned - commits.at[job_id]))
    app.close()
    figures = {"result() after the recorded end": after_end_ms}
    if in_process:
        figures |= {"the write": write_ms, "result() after the write returned": after_write_ms}
    return {name: _quantiles(values) for name, values in figures.items()}


def _ms(delta: Any) -> float:
    return float(delta.total_seconds() * 1000)


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "max": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL; default: a fresh SQLite file")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--worker", choices=["thread", "process"], default="thread")
    args = parser.parse_args()
    if args.samples - args.warmup < 2:
        sys.exit("--samples must exceed --warmup by at least 2")
    with tempfile.TemporaryDirectory(prefix="workhorse-wait-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/wait.db"
        result = probe(url, args.samples, args.warmup, args.worker == "thread")
    print(json.dumps({"backend": url.split(":", 1)[0], "worker": args.worker, **result}, indent=2))


if __name__ == "__main__":
    main()
