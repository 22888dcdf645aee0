"""Workflow: one parent, N children, one fan-in step, against N independent jobs; and how long
``result()`` takes to return after a job's own completion.

Both graphs run on fresh queues with the same worker processes (spawned in burst mode once the
jobs are stored), so the ratio of their spans is the cost of the dependencies: the release of N
children by one finish, and of the fan-in by the last child's.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from workhorse.app import Workhorse
from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import noop
from workhorse.bench.tasks import specs as make_specs
from workhorse.bench.throughput import (
    ENQUEUE_BATCH,
    Progress,
    all_jobs,
    no_progress,
    percentiles,
    prepare,
    spawn_worker,
)
from workhorse.jobs import Job, JobState
from workhorse.worker import Worker, WorkerConfig

RESULT_SAMPLES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowResult:
    independent_s: float
    """From the first start to the last end of N independent jobs."""
    workflow_s: float
    """From the parent's start to the fan-in step's end."""
    ratio: float
    """workflow_s / independent_s."""
    result_overhead_ms: dict[str, float]
    """How long after a job's recorded end ``result()`` returned."""
    lost: int


def run_once(
    database_url: str,
    *,
    jobs: int,
    workers: int,
    concurrency: int,
    progress: Progress = no_progress,
) -> WorkflowResult:
    """One run: the independent jobs, then the workflow, then the result() probe."""
    app = bench_app
    app.close()
    app.database_url = database_url
    prepare(app)
    size = {"jobs": jobs, "workers": workers, "concurrency": concurrency}
    independent = _independent(app, database_url, **size, progress=progress)
    workflow = _workflow(app, database_url, **size, progress=progress)
    overhead = _result_overhead(app, progress)
    app.close()
    return WorkflowResult(
        independent_s=_span(independent),
        workflow_s=_span(workflow),
        ratio=_span(workflow) / _span(independent),
        result_overhead_ms=percentiles(sorted(overhead)),
        lost=sum(1 for job in independent + workflow if job.state is not JobState.SUCCEEDED),
    )


def _independent(
    app: Workhorse, url: str, *, jobs: int, workers: int, concurrency: int, progress: Progress
) -> list[Job]:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    for offset in range(0, jobs, ENQUEUE_BATCH):
        app.enqueue_many(make_specs(queue, min(ENQUEUE_BATCH, jobs - offset), 0))
    progress("independent", 0, None)
    _drain(url, queue, workers, concurrency)
    return all_jobs(app, queue)


def _workflow(
    app: Workhorse, url: str, *, jobs: int, workers: int, concurrency: int, progress: Progress
) -> list[Job]:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    step = noop.with_options(queue=queue)
    with app.workflow(name="bench") as wf:
        parent = wf.add(step.prepare(), key="parent")
        children = [wf.add(step.prepare(), after=[parent]) for _ in range(jobs)]
        wf.add(step.prepare(), key="fan-in", after=children)
    progress("workflow", 0, None)
    _drain(url, queue, workers, concurrency)
    return all_jobs(app, queue)


def _drain(url: str, queue: str, workers: int, concurrency: int) -> None:
    procs = [spawn_worker(url, queue, concurrency) for _ in range(workers)]
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError(f"bench worker exited with {proc.returncode}")


def _span(done: list[Job]) -> float:
    starts = [job.started_at for job in done if job.started_at]
    ends = [job.finished_at for job in done if job.finished_at]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")


def _result_overhead(app: Workhorse, progress: Progress) -> list[float]:
    """Milliseconds from each job's recorded end (``finished_at``, taken as its worker writes
    the outcome) to ``result()`` returning, one job at a time, with a worker running in this
    process: the notification (or commit watch), the wake-up and the read of the result."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    step = noop.with_options(queue=queue)
    overhead: list[float] = []
    with running_worker(app, queue):
        for sample in range(RESULT_SAMPLES):
            handle = step.enqueue()
            handle.result(timeout=30)
            returned = datetime.now(UTC)
            finished = app.get_job(handle.id).finished_at or returned
            overhead.append((returned - finished).total_seconds() * 1000)
            progress("result()", sample + 1, RESULT_SAMPLES)
    return overhead


@contextmanager
def running_worker(app: Workhorse, queue: str) -> Iterator[None]:
    """A worker on ``queue`` in a thread of this process while the block runs."""
    worker = Worker(app, WorkerConfig(queues=(queue,), concurrency=10))
    thread = threading.Thread(target=lambda: asyncio.run(worker.run_async()), daemon=True)
    thread.start()
    try:
        yield
    finally:
        worker.stop()
        thread.join(30)


def medians(results: list[WorkflowResult]) -> dict[str, object]:
    """The medians of several runs' figures, and each run's ratio."""
    return {
        "independent_s": statistics.median(r.independent_s for r in results),
        "workflow_s": statistics.median(r.workflow_s for r in results),
        "ratio": statistics.median(r.ratio for r in results),
        "result_overhead_ms": {
            key: statistics.median(r.result_overhead_ms[key] for r in results)
            for key in results[0].result_overhead_ms
        },
        "lost": sum(r.lost for r in results),
        "ratios": [round(r.ratio, 3) for r in results],
    }
