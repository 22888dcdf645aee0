"""The live terminal view of ``workhorse serve``: throughput, queue depths, recent failures."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from workhorse.app import Workhorse
from workhorse.backends import base as b
from workhorse.jobs import Job, JobState

_STATES = [JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING, JobState.RETRYING]
_ENDED = [JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED]


@dataclass(slots=True)
class Snapshot:
    at: float
    counts: list[b.QueueCount]
    failures: list[Job]
    workers: list[b.WorkerInfo]

    def total(self, states: list[JobState]) -> int:
        return sum(c.count for c in self.counts if c.state in states)


def take_snapshot(app: Workhorse) -> Snapshot:
    """Read what the view shows (blocking; run it in a thread)."""
    return Snapshot(
        at=time.monotonic(),
        counts=app.admin.queue_counts(),
        failures=app.list_jobs(states=[JobState.RETRYING, JobState.DEAD], limit=6),
        workers=app.admin.list_workers(),
    )


@dataclass(slots=True)
class Rates:
    """Finished jobs per second over a sliding window of snapshots."""

    window: float = 10.0
    points: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, snapshot: Snapshot) -> float:
        self.points.append((snapshot.at, snapshot.total(_ENDED)))
        while self.points and snapshot.at - self.points[0][0] > self.window:
            self.points.popleft()
        (t0, n0), (t1, n1) = self.points[0], self.points[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def render(snapshot: Snapshot, per_second: float, title: str) -> Group:
    header = Table.grid(padding=(0, 3))
    header.add_row(
        f"[bold]{per_second:,.1f}[/bold] jobs/s finished",
        f"[bold]{len(snapshot.workers)}[/bold] worker(s)",
        f"[bold]{snapshot.total([JobState.SUCCEEDED]):,}[/bold] succeeded",
        f"[bold red]{snapshot.total([JobState.DEAD]):,}[/bold red] dead",
    )
    depths = Table("tenant", *(str(s) for s in _STATES), "succeeded", "dead", title="queue depths")
    by_tenant: dict[str, Counter[JobState]] = {}
    for count in snapshot.counts:
        by_tenant.setdefault(count.tenant, Counter())[count.state] += count.count
    for tenant in sorted(by_tenant):
        row = by_tenant[tenant]
        cells = [f"{row[s]:,}" for s in [*_STATES, JobState.SUCCEEDED, JobState.DEAD]]
        depths.add_row(tenant, *cells)
    failures = Table("job", "tenant", "task", "state", "last error", title="recent failures")
    for job in snapshot.failures:
        error = job.errors[-1] if job.errors else None
        message = f"{error.type}: {error.message}" if error else ""
        failures.add_row(str(job.id), job.tenant, job.task, str(job.state), message[:70])
    return Group(Panel(header, title=title), depths, failures)


def summary_line(snapshot: Snapshot, per_second: float) -> str:
    """The one-line form for logs when stdout is not a terminal."""
    parts = [f"{per_second:.1f} jobs/s"]
    parts += [f"{state}={snapshot.total([state])}" for state in [*_STATES, *_ENDED]]
    return " ".join(parts)
