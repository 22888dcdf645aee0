"""A database cut under load: workers and the API run while clients enqueue through Python and
HTTP; the primary is stopped and the standby promoted (or the server restarted); then what
happened is measured. The acceptance test checks it, ``benchmarks/failover.py`` reports it.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from workhorse import Job, JobState, Workhorse

from ._harness import APP, Proc, Workspace, all_jobs, state_counts, wait_until
from .fixtures import tasksmod

BATCH = 20
"""Jobs per enqueue call, by each client."""
PERIOD = 0.05
"""Seconds between a client's calls: 20 jobs every 50 ms is 400 jobs/s offered by each client
(what a loaded 2-core machine delivers is less; the test asks for 200 jobs/s in all)."""
WORKERS = 3


@dataclass(frozen=True, slots=True)
class Call:
    """One enqueue call: when it ran, through which client, what it returned."""

    client: str
    started: float
    ended: float
    ids: tuple[int, ...]
    error: str | None = None


@dataclass(slots=True)
class Load:
    """Clients that enqueue ``BATCH`` jobs every ``PERIOD`` until stopped."""

    app: Workhorse
    api: str
    key: str
    calls: list[Call] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for name, call in (("python", self._python), ("http", self._http)):
            thread = threading.Thread(target=self._run, args=(name, call), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> list[Call]:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        return sorted(self.calls, key=lambda call: call.started)

    def _run(self, name: str, enqueue: Callable[[int], tuple[int, ...]]) -> None:
        serial = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ids, error = enqueue(serial), None
            except Exception as exc:
                ids, error = (), f"{type(exc).__name__}: {exc}"
            self.calls.append(Call(name, started, time.monotonic(), ids, error))
            serial += BATCH
            self._stop.wait(max(0.0, started + PERIOD - time.monotonic()))

    def _python(self, serial: int) -> tuple[int, ...]:
        specs = [tasksmod.add.prepare(serial + i, 1) for i in range(BATCH)]
        return tuple(handle.id for handle in self.app.enqueue_many(specs))

    def _http(self, serial: int) -> tuple[int, ...]:
        jobs = [{"task": "add", "args": [serial + i, 1]} for i in range(BATCH)]
        response = httpx.post(
            f"{self.api}/v1/jobs/batch",
            json={"jobs": jobs},
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        if response.status_code not in {200, 201}:
            retry = response.headers.get("Retry-After")
            raise RuntimeError(f"HTTP {response.status_code} (Retry-After {retry})")
        return tuple(job["id"] for job in response.json()["jobs"])


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a cut cost, measured."""

    recovery_seconds: float
    """From the start of the cut until a call first succeeds after it (the cut itself, stopping
    and promoting or restarting, included)."""
    cut_seconds: float
    """How long the cut itself took (``pg_ctlcluster`` stop and promote, or restart)."""
    failed: Counter[str]
    """Failed enqueue calls by client (http, python)."""
    acknowledged: int
    lost: int
    """Acknowledged jobs the database no longer has."""
    duplicates: int
    """Executions beyond one per job."""
    calls: list[Call]
    cut: float
    jobs_per_second: float
    """Jobs acknowledged per second before the cut."""
    duplicated_not_lost: int
    """Jobs that ran more than once without an attempt lost (lease expired) after the cut."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fleet(space: Workspace) -> tuple[list[Proc], str, str]:
    """``WORKERS`` workers and an API server on ``space``'s database; returns the workers, the
    API's base URL and an admin key."""
    created = space.cli("keys", "create", "--admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    workers = [
        space.start_worker("--id", f"w{i}", "--concurrency", "20", "--lease", "5", name=f"w{i}")
        for i in range(WORKERS)
    ]
    port = free_port()
    space.start(
        "api", "--app", APP, "--database-url", space.db_url, "--port", str(port), name="api"
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _ready(base), timeout=30, what="the API to answer /readyz")
    return workers, base, key


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def run_cut(
    space: Workspace, app: Workhorse, cut: Callable[[], None], *, before: float, after: float
) -> Outcome:
    """Load the fleet for ``before`` seconds, ``cut()`` the database, load ``after`` seconds
    more, wait for every acknowledged job to end, and measure."""
    workers, base, key = start_fleet(space)
    load = Load(app, base, key)
    began = time.monotonic()
    load.start()
    time.sleep(before)
    cut_at, cut_wall = time.monotonic(), datetime.now(UTC)
    cut()
    cut_done = time.monotonic()
    time.sleep(after)
    calls = load.stop()
    acknowledged = {job_id for call in calls for job_id in call.ids}
    steady = sum(len(call.ids) for call in calls if call.ended < cut_at)
    rate = steady / (cut_at - began)
    wait_until(
        lambda: _all_done(app, len(acknowledged)), timeout=90, what="acknowledged jobs to succeed"
    )
    jobs = all_jobs(app)
    runs = Counter(execution.job_id for execution in space.executions())
    for worker in workers:
        assert worker.alive, worker.stderr()[-3000:]
        worker.signal(signal.SIGTERM)
    return Outcome(
        recovery_seconds=_recovery(calls, cut_at, cut_done),
        cut_seconds=cut_done - cut_at,
        failed=Counter(call.client for call in calls if call.error),
        acknowledged=len(acknowledged),
        lost=len(acknowledged - set(jobs)),
        duplicates=sum(runs.values()) - len(runs),
        duplicated_not_lost=sum(
            1 for job_id, n in runs.items() if n > 1 and not _lost_at_cut(jobs[job_id], cut_wall)
        ),
        calls=calls,
        cut=cut_at,
        jobs_per_second=rate,
    )


def _lost_at_cut(job: Job, cut: datetime) -> bool:
    """Whether an attempt of ``job`` was lost to the cut: its lease ran out during the outage."""
    return any(error.type == "WorkerLostError" and error.at >= cut for error in job.errors)


def _all_done(app: Workhorse, acknowledged: int) -> bool:
    counts = state_counts(app)
    return counts.total() >= acknowledged and counts[JobState.SUCCEEDED] == counts.total()


def _recovery(calls: list[Call], cut_at: float, cut_done: float) -> float:
    """Seconds from the start of the cut to the first successful call that ended after the cut
    was over (a call waiting out the outage returns as soon as the database is back)."""
    ends = [call.ended for call in calls if not call.error and call.ended >= cut_done]
    return (min(ends) if ends else time.monotonic()) - cut_at
