"""The worker: claims jobs, runs them, writes outcomes, heartbeats, and shuts down gracefully.

One asyncio loop per process runs the fetcher, the completer, the heartbeater and (when elected)
the maintenance services. Async tasks run on the loop; sync tasks on a thread pool sized to the
concurrency. Backend calls run on a small separate thread pool so the loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workhorse import outcomes
from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.context import JobContext, _current
from workhorse.dbcall import thread_db_call
from workhorse.errors import JobTimeoutError, UnknownTaskError
from workhorse.jobs import JobState
from workhorse.observability import logs
from workhorse.observability.metrics import Outcome, WorkerMetrics
from workhorse.observability.worker_hooks import WorkerTelemetry
from workhorse.scheduling.maintenance import Maintenance, MaintenanceConfig
from workhorse.types import JSON
from workhorse.worker.completer import Completer
from workhorse.worker.config import WorkerConfig

if TYPE_CHECKING:
    from workhorse.app import Workhorse
    from workhorse.tasks import Task

log = logging.getLogger("workhorse.worker")

_LOST_LOOKUPS = 50
"""Lost jobs whose state one heartbeat reads, to tell a cancel from a lost lease."""


@dataclass(slots=True)
class _Running:
    job: b.ClaimedJob
    context: JobContext
    claimed_at: float
    task: asyncio.Task[None] | None = None
    lost: bool = False


@dataclass(slots=True)
class WorkerStats:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    released: int = 0
    claim_batches: list[int] = field(default_factory=list)


class Worker:
    """Runs jobs of ``app`` from ``config.queues``. ``run()`` blocks until shut down."""

    def __init__(
        self,
        app: Workhorse,
        config: WorkerConfig | None = None,
        *,
        maintenance: MaintenanceConfig | None = None,
    ) -> None:
        self.app = app
        self.config = config or WorkerConfig()
        self.id = (
            self.config.worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.stats = WorkerStats()
        self.metrics = WorkerMetrics()
        """This worker's registry (its app's enqueue and round-trip metrics are ``app.metrics``)."""
        self.metrics.slots.set(self.config.concurrency)
        self.metrics.busy_slots.set_function(self._busy)
        self._telemetry = WorkerTelemetry(self.id, self.metrics, app.metrics)
        self._maintenance_config = maintenance
        self._running: dict[int, _Running] = {}
        self._ready: deque[tuple[b.ClaimedJob, float]] = deque()
        """Claimed ahead of free slots (see ``WorkerConfig.prefetch``), with when claimed."""
        self._mean_run: float | None = None
        """Recent mean run time of attempts, in seconds (an exponential moving average)."""
        self._threads_alive: dict[int, Future[Any]] = {}
        self._started_at = app.clock()
        self._listening = False

    # -- entry points ------------------------------------------------------------------------

    def run(self) -> None:
        """Run until SIGTERM/SIGINT (or, with ``burst``, until no work is left)."""
        asyncio.run(self.run_async(install_signal_handlers=True))

    async def run_async(self, *, install_signal_handlers: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()
        self._wake = asyncio.Event()
        self._db_threads = ThreadPoolExecutor(2, thread_name_prefix="workhorse-db")
        self._task_threads = ThreadPoolExecutor(
            self.config.concurrency, thread_name_prefix="workhorse-task"
        )
        logs.bind_worker(self.id)
        db = thread_db_call(self._db_threads)
        backend = await db(lambda _: self.app.backend, None)
        self._db = self._telemetry.instrument(db, backend)
        self._backend = backend
        self._completer = Completer(
            backend,
            self._db,
            self.app.clock,
            batch=self.config.completion_batch,
            delay=self.config.completion_delay,
            usage_window=self.app.fair_share_window,
        )
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self.stop)
        try:
            await self._serve()
        finally:
            self._db_threads.shutdown(wait=True)
            self._task_threads.shutdown(wait=False, cancel_futures=True)
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    self._loop.remove_signal_handler(sig)

    def stop(self) -> None:
        """Stop claiming and drain; a second call hands running jobs back at once."""
        if self._stopping.is_set():
            log.warning("second stop signal: handing running jobs back now")
            self._hurry.set()
        else:
            log.info(
                "stopping: no new claims; waiting up to %s for running jobs", self.config.grace
            )
            self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Claim now instead of at the next poll (thread-safe)."""
        self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def threads_alive(self) -> int:
        """Sync task threads still running, including those whose attempt timed out."""
        return len(self._threads_alive)

    # -- the main phases ---------------------------------------------------------------------

    async def _serve(self) -> None:
        await self._register()
        log.info(
            "worker %s started: queues=%s concurrency=%d",
            self.id,
            ",".join(self.config.queues),
            self.config.concurrency,
        )
        background = [
            asyncio.create_task(self._completer.run(), name="completer"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
        ]
        maintenance = None
        if self.config.maintenance:
            maintenance = Maintenance(
                self.app, holder=self.id, db=self._db, config=self._maintenance_config
            )
            background.append(asyncio.create_task(maintenance.run(), name="maintenance"))
        listener = self._backend.listener(self.config.queues)
        listening = None
        if listener is not None:
            self._listening = True
            listening = threading.Thread(
                target=self._listen, args=(listener,), name="workhorse-listen", daemon=True
            )
            listening.start()
        if self.config.parent_pid is not None:
            background.append(asyncio.create_task(self._watch_parent(self.config.parent_pid)))
        try:
            await self._fetch_loop()
            await self._drain()
        finally:
            self._listening = False
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if listening is not None:
                await asyncio.to_thread(listening.join, 2.0)
            if maintenance is not None:
                await _quietly(maintenance.resign())
            await _quietly(self._db(self._backend.worker_delete, b.WorkerDeleteParams(id=self.id)))
        log.info(
            "worker %s stopped: %d succeeded, %d failed, %d handed back, %d cancelled or lost",
            self.id,
            self.stats.succeeded,
            self.stats.failed,
            self.stats.released,
            self.stats.lost,
        )

    async def _fetch_loop(self) -> None:
        idle_since: float | None = None
        backoff = Backoff()
        while not self._stopping.is_set():
            self._start_ready()
            room = self.config.concurrency - self._busy() - len(self._ready)
            if self._short_jobs():
                room += self.config.prefetch_limit
            if room <= 0:
                await self._wait(self._wake, None)
                continue
            try:
                limit = min(room, self.config.claim_limit)
                claimed = await self._claim(limit, poll=idle_since is not None)
                backoff.reset()
            except Exception as exc:
                delay = backoff.next()
                log.warning("claim failed (%s); retrying in %.2fs", exc, delay)
                await self._wait(self._stopping, delay)
                continue
            if claimed:
                idle_since = None
                continue
            if self.config.burst and await self._burst_done():
                log.info("burst: no work left")
                return
            idle_since = idle_since or time.monotonic()
            await self._wait(self._wake, self._poll_delay(idle_since))

    async def _drain(self) -> None:
        """Wait for running jobs within the grace period, then hand the rest back."""
        deadline = time.monotonic() + self.config.grace.total_seconds()
        while self._running and not self._hurry.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._wait(self._wake, min(remaining, 0.1))
        await self._release_remaining()
        await self._completer.drained()

    # -- claiming ----------------------------------------------------------------------------

    def _busy(self) -> int:
        return len(self._running.keys() | self._threads_alive.keys())

    async def _claim(self, limit: int, *, poll: bool) -> list[b.ClaimedJob]:
        """Claim up to ``limit`` jobs. When idle (``poll``), first ask with a cheap read whether
        there is anything to claim, so idle workers do not take the write path; while busy, the
        claim itself is the check."""
        params = b.JobClaimParams(
            worker_id=self.id,
            queues=self.config.queues,
            limit=limit,
            lease_token=uuid.uuid4().hex,
            lease_for=self.config.lease,
            now=self.app.clock(),
            usage_window=self.app.fair_share_window,
        )
        if poll:
            check = b.JobPollParams(queues=self.config.queues, now=params.now)
            if not await self._db(self._backend.job_poll, check):
                return []
        claimed = await self._db(self._backend.job_claim, params)
        if claimed:
            self.stats.claimed += len(claimed)
            self.stats.claim_batches.append(len(claimed))
            at = time.monotonic()
            self._ready.extend((job, at) for job in claimed)
            self._start_ready()
        return claimed

    def _start_ready(self) -> None:
        """Start claimed jobs while slots are free (never once stopping)."""
        while self._ready and not self._stopping.is_set():
            if self._busy() >= self.config.concurrency:
                return
            self._start(self._ready.popleft()[0])

    def _short_jobs(self) -> bool:
        below = self.config.prefetch_below.total_seconds()
        return self._mean_run is not None and self._mean_run < below

    async def _burst_done(self) -> bool:
        if self._running or self._threads_alive or self._ready:
            return False
        await self._completer.drained()
        # The claim just found nothing runnable; what is left is waiting for a retry, or not
        # runnable now (a paused tenant, a quota): burst waits only for the retries.
        poll = b.JobPollParams(
            queues=self.config.queues,
            now=self.app.clock(),
            include_queued=False,
            include_retrying=True,
        )
        return not await self._db(self._backend.job_poll, poll)

    def _poll_delay(self, idle_since: float) -> float:
        """Poll at the configured interval, slowing to 10x after a minute idle. With a listener,
        notifications wake the fetcher and polling is only the fallback (at most every second)."""
        base = self.config.poll_interval.total_seconds()
        if self._listening:
            base = max(base, 1.0)
        return base * 10 if time.monotonic() - idle_since > 60 else base

    def _listen(self, listener: b.Listener) -> None:
        """Thread: wake the fetcher on each notification until the worker stops."""
        try:
            while self._listening:
                if listener.wait(0.5):
                    self._loop.call_soon_threadsafe(self._wake.set)
        finally:
            listener.close()

    # -- running one job ---------------------------------------------------------------------

    def _start(self, job: b.ClaimedJob) -> None:
        deadline = None
        if job.timeout is not None:
            deadline = self.app.clock() + timedelta(seconds=job.timeout)
        context = JobContext(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            tenant=job.tenant,
            queue=job.queue,
            task=job.task,
            worker_id=self.id,
            deadline=deadline,
            _report=functools.partial(self._report_progress, job.lease_token),
        )
        running = _Running(job=job, context=context, claimed_at=time.monotonic())
        self._running[job.id] = running
        running.task = asyncio.create_task(self._execute(running), name=f"job-{job.id}")

    async def _execute(self, running: _Running) -> None:
        job = running.job
        policy = self.app.retry_policy_for(job.task)
        began = time.monotonic()
        with self._telemetry.attempt(job) as attempt:
            try:
                result = await self._call(running)
            except asyncio.CancelledError:
                if running.lost:
                    self.stats.lost += 1
                self._finish(job.id)
                return  # lost, cancelled or handed back: the outcome is not ours to write
            except BaseException as exc:
                self._ran(time.monotonic() - began)
                log.info("job %d (%s) attempt %d failed: %r", job.id, job.task, job.attempt, exc)
                self.stats.failed += 1
                outcome = outcomes.failed(job, exc, self.app.clock(), policy)
                attempt.ended(outcome.state, exc)
            else:
                self._ran(time.monotonic() - began)
                self.stats.succeeded += 1
                outcome = outcomes.succeeded(job, result, self.app.clock(), policy)
                attempt.ended(outcome.state)
            self._completer.add(outcome)
        self._finish(job.id)

    async def _call(self, running: _Running) -> JSON:
        job = running.job
        task = self.app.tasks.get(job.task)
        if task is None:
            raise UnknownTaskError(f"task {job.task!r} is not registered in this worker's app")
        token = _current.set(running.context)
        try:
            if job.timeout is None:
                return await self._invoke(job, task)
            scope = asyncio.timeout(job.timeout)
            try:
                async with scope:
                    return await self._invoke(job, task)
            except TimeoutError as exc:
                if scope.expired():
                    message = f"job {job.id} ran past its timeout of {job.timeout:g}s"
                    raise JobTimeoutError(message) from exc
                raise
        finally:
            _current.reset(token)

    async def _invoke(self, job: b.ClaimedJob, task: Task[Any, Any]) -> JSON:
        if task.is_async:
            return await task.fn(*job.args, **job.kwargs)  # type: ignore[no-any-return]
        return await self._call_sync(job.id, task.fn, job.args, job.kwargs)

    async def _call_sync(
        self, job_id: int, fn: Any, args: list[JSON], kwargs: dict[str, JSON]
    ) -> JSON:
        """Run a sync task on a thread. A timed-out or cancelled attempt ends at once, but the
        thread runs on until the function returns; its slot stays taken until then."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        future = self._task_threads.submit(call)
        self._threads_alive[job_id] = future
        future.add_done_callback(
            lambda _: self._loop.call_soon_threadsafe(self._thread_done, job_id, future)
        )
        return await asyncio.wrap_future(future)

    def _thread_done(self, job_id: int, future: Future[Any]) -> None:
        if self._threads_alive.get(job_id) is future:
            del self._threads_alive[job_id]
            self._start_ready()
            self._wake.set()

    def _ran(self, seconds: float) -> None:
        mean = self._mean_run
        self._mean_run = seconds if mean is None else 0.9 * mean + 0.1 * seconds

    def _finish(self, job_id: int) -> None:
        self._running.pop(job_id, None)
        self._start_ready()
        self._wake.set()

    def _report_progress(self, token: str, job_id: int, value: JSON) -> None:
        # Called from the loop (async tasks) or a task thread (sync tasks): always hop safely.
        self._loop.call_soon_threadsafe(self._completer.progress, job_id, token, value)

    # -- heartbeats and hand-back ------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = self.config.heartbeat_interval.total_seconds()
        backoff = Backoff(cap=interval)
        delay = interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self._heartbeat()
                backoff.reset()
                delay = interval
            except Exception as exc:
                delay = backoff.next()
                log.warning("heartbeat failed (%s); leases expire if this persists", exc)

    async def _heartbeat(self) -> None:
        started = time.monotonic()
        params = b.JobHeartbeatParams(
            worker_id=self.id, lease_for=self.config.lease, now=self.app.clock()
        )
        held = set(await self._db(self._backend.job_heartbeat, params))
        await self._register()
        # Claimed ahead but cancelled or reaped meanwhile: never start them.
        lost = [job for job, at in self._ready if job.id not in held and at < started]
        if lost:
            gone = {job.id for job in lost}
            self._ready = deque(entry for entry in self._ready if entry[0].id not in gone)
        for job_id, running in list(self._running.items()):
            if job_id in held or running.claimed_at >= started or running.task is None:
                continue
            # Not ours any more: cancelled, or reaped after our lease expired. Stop it.
            log.warning("job %d is no longer held by this worker (cancelled or lease lost)", job_id)
            running.lost = True
            running.context.cancelled.set()
            running.task.cancel()
            lost.append(running.job)
        if lost:
            await self._count_lost(lost)

    async def _count_lost(self, jobs: list[b.ClaimedJob]) -> None:
        """Count jobs taken from under this worker as cancelled or lost (reaped), reading the
        state of at most ``_LOST_LOOKUPS`` of them (the rest count as lost)."""
        for index, job in enumerate(jobs):
            outcome = Outcome.LOST
            if index < _LOST_LOOKUPS:
                try:
                    found = await self._db(self._backend.job_get, b.JobGetParams(id=job.id))
                except Exception:
                    found = None
                if found is not None and found.state is JobState.CANCELLED:
                    outcome = Outcome.CANCELLED
            self._telemetry.lost(job, outcome)

    async def _watch_parent(self, pid: int) -> None:
        while os.getppid() == pid:
            await asyncio.sleep(1)
        log.warning("parent process %d is gone; stopping", pid)
        self.stop()

    async def _register(self) -> None:
        params = b.WorkerHeartbeatParams(
            id=self.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self.config.queues,
            concurrency=self.config.concurrency,
            now=self.app.clock(),
            started_at=self._started_at,
        )
        await self._db(self._backend.worker_heartbeat, params)

    async def _release_remaining(self) -> None:
        remaining = list(self._running.values())
        jobs = [r.job for r in remaining] + [job for job, _ in self._ready]
        self._ready.clear()
        if not jobs:
            return
        for running in remaining:
            running.context.cancelled.set()
            if running.task is not None:
                running.task.cancel()
        await asyncio.gather(*(r.task for r in remaining if r.task), return_exceptions=True)
        params = b.JobReleaseParams(
            ids=[job.id for job in jobs],
            lease_token_by_id={job.id: job.lease_token for job in jobs},
            now=self.app.clock(),
        )
        released = await self._db(self._backend.job_release, params)
        self.stats.released += len(released)
        log.info("handed %d running job(s) back to the queue", len(released))

    async def _wait(self, event: asyncio.Event, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("clean-up step failed")
