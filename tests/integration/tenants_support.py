"""Helpers for the tenant integration tests: a migrated store of each kind, a workspace running
``tenants_tasks`` workers, the event log those tasks write, and sweeps over it.

Processes are started only through the workspace, which stops them (by handle) at teardown.
"""

from __future__ import annotations

import shutil
import signal
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from acceptance._harness import Proc, Workspace, wait_until
from pgtest import postgres_schema
from workhorse import Job, JobState
from workhorse.backends import base as b
from workhorse.backends import open_backend

from . import tenants_tasks

K = TypeVar("K", bound=Hashable)

BACKENDS = ["sqlite", "postgres"]


@contextmanager
def migrated_store(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated store: a SQLite file, or a PostgreSQL schema of its own."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/tenants.db"
        open_backend(url, auto_migrate=True).close()
        yield url
        return
    with postgres_schema() as url:
        open_backend(url, auto_migrate=True).close()
        yield url


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the event log."""

    kind: str
    at: float
    job_id: int
    tenant: str
    key: str | None
    pid: int


@dataclass(frozen=True, slots=True)
class Run:
    """One job's run as its task saw it: from its start event to its end event."""

    job_id: int
    tenant: str
    key: str | None
    pid: int
    start: float
    end: float


class TenantSpace:
    """A test's directory with ``tenants_tasks`` in it, workers on one store, and an app (in the
    test process) on that store to enqueue and inspect."""

    def __init__(self, root: Path, url: str) -> None:
        self.space = Workspace(root)
        self.space.db_url = url
        shutil.copy(Path(tenants_tasks.__file__), root / "tenants_tasks.py")
        self.url = url
        self.events_path = root / tenants_tasks.EVENTS
        self.app = tenants_tasks.make_app(url)

    def close(self) -> None:
        self.space.close()
        self.app.close()

    # -- processes ---------------------------------------------------------------------------

    def start_workers(self, count: int, concurrency: int, *, ready: bool = True) -> list[Proc]:
        """Start ``count`` workers; with ``ready``, wait until every one has registered (so
        they all race from the first job on)."""
        workers = [
            self.space.start(
                "worker",
                "--app",
                "tenants_tasks:app",
                "--database-url",
                self.url,
                "--concurrency",
                str(concurrency),
                "--grace",
                "5",
                name=f"worker{index}",
            )
            for index in range(count)
        ]
        if ready:
            wait_until(
                lambda: (
                    len(self.app.backend.worker_list(b.WorkerListParams())) >= count
                    or any(not worker.alive for worker in workers)
                ),
                timeout=60,
                what=f"{count} workers to register",
            )
            dead = [worker.stderr()[-2000:] for worker in workers if not worker.alive]
            assert not dead, f"a worker exited at start:\n{dead[0]}"
        return workers

    def stop(self, workers: Iterable[Proc], timeout: float = 30) -> None:
        """SIGTERM every worker, then wait for each to exit cleanly."""
        workers = list(workers)
        for worker in workers:
            worker.signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait_exit(timeout) == 0, worker.stderr()[-3000:]

    def tenants(self, *args: str) -> str:
        """Run ``workhorse tenants ARGS --database-url URL``; its output (it must succeed)."""
        done = self.space.cli("tenants", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # -- jobs --------------------------------------------------------------------------------

    def enqueue(self, task: str, tenant: str, args: list[list[object]], **options: object) -> None:
        """Enqueue ``task`` once per argument list, for ``tenant``, in one transaction."""
        handle = self.app.get_task(task).with_options(tenant=tenant, **options)
        self.app.enqueue_many(handle.prepare(*call) for call in args)

    def jobs(self) -> list[Job]:
        return self.app.list_jobs(limit=1_000_000)

    def counts(self) -> dict[tuple[str, JobState], int]:
        rows = self.app.backend.job_count(b.JobCountParams())
        found: dict[tuple[str, JobState], int] = defaultdict(int)
        for row in rows:
            found[(row.tenant, row.state)] += row.count
        return found

    def all_succeeded(self, expected: int) -> bool:
        counts = self.counts()
        return sum(counts.values()) == expected and all(
            state is JobState.SUCCEEDED for (_, state), n in counts.items() if n
        )

    # -- the event log -----------------------------------------------------------------------

    def events(self) -> list[Event]:
        if not self.events_path.exists():
            return []
        found = []
        for line in self.events_path.read_text().splitlines():
            kind, at, job_id, tenant, key, pid = line.split()
            found.append(
                Event(
                    kind,
                    float(at),
                    int(job_id),
                    tenant,
                    None if key == tenants_tasks.NO_KEY else key,
                    int(pid),
                )
            )
        return found

    def runs(self) -> list[Run]:
        """Every job's run; each job must have started and ended exactly once."""
        starts: dict[int, Event] = {}
        ends: dict[int, Event] = {}
        for event in self.events():
            seen = starts if event.kind == "start" else ends
            assert event.job_id not in seen, f"job {event.job_id} has two {event.kind} events"
            seen[event.job_id] = event
        assert starts.keys() == ends.keys(), "a job started without ending, or the reverse"
        return [
            Run(e.job_id, e.tenant, e.key, e.pid, e.at, ends[e.job_id].at)
            for e in sorted(starts.values(), key=lambda e: e.at)
        ]


# -- sweeps ------------------------------------------------------------------------------------


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals ``[start, end)`` that hold at any one instant."""
    spans = list(intervals)
    assert all(start <= end for start, end in spans), "an interval ends before it starts"
    edges = sorted(
        [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
        key=lambda edge: (edge[0], edge[1]),  # at a tie, an end comes before a start
    )
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def peaks_by(runs: Iterable[Run], key: Callable[[Run], K]) -> dict[K, int]:
    """``peak_overlap`` of the runs in each group."""
    groups: dict[K, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        groups[key(run)].append((run.start, run.end))
    return {group: peak_overlap(intervals) for group, intervals in groups.items()}


def most_in_window(times: Iterable[float], width: float) -> int:
    """The most of ``times`` that any closed window ``[t, t + width]`` holds."""
    ordered = sorted(times)
    most = first = 0
    for last, time_ in enumerate(ordered):
        while ordered[first] < time_ - width:
            first += 1
        most = max(most, last - first + 1)
    return most


def overlap_seconds(start: datetime, end: datetime, w0: datetime, w1: datetime) -> float:
    """Seconds of ``[start, end]`` inside the window ``[w0, w1]``."""
    return max(0.0, (min(end, w1) - max(start, w0)).total_seconds())


def worker_time_shares(
    jobs: Iterable[Job], w0: datetime, w1: datetime
) -> tuple[dict[str, float], dict[str, float]]:
    """Per tenant: worker-seconds (``finished_at - started_at``, clipped to the window) and the
    share of the total they are."""
    seconds: dict[str, float] = defaultdict(float)
    for job in jobs:
        if job.started_at is not None and job.finished_at is not None:
            seconds[job.tenant] += overlap_seconds(job.started_at, job.finished_at, w0, w1)
    total = sum(seconds.values())
    assert total > 0, "no worker-time in the window"
    return dict(seconds), {tenant: value / total for tenant, value in seconds.items()}
