"""The executor: runs claimed jobs and hands each attempt's outcome to the completer.

Inline, async tasks run on the event loop and sync tasks on a thread pool sized to the
concurrency; process-isolated tasks run in the worker's ``ProcessPool``. Each job is an asyncio
task of its own, so stopping one (a cancel, a lost lease, a hand-back, a timeout) is a cancel,
which for a job in a child process kills the child. A job takes its task's ``slots`` of the
worker's concurrency.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workhorse import outcomes
from workhorse.backends import base as b
from workhorse.context import JobContext, _current
from workhorse.errors import JobTimeoutError, UnknownTaskError
from workhorse.observability.worker_hooks import WorkerTelemetry
from workhorse.tasks import Isolation
from workhorse.types import JSON
from workhorse.worker.cancels import CancelWatch
from workhorse.worker.completer import Completer
from workhorse.worker.control import Control
from workhorse.worker.processes import ProcessPool, RemoteError
from workhorse.worker.processes.child import Request
from workhorse.worker.processes.pool import Meter
from workhorse.worker.stats import WorkerStats

if TYPE_CHECKING:
    from workhorse.app import Workhorse
    from workhorse.retry import RetryPolicy
    from workhorse.tasks import Task

log = logging.getLogger("workhorse.worker")


@dataclass(slots=True)
class _Running:
    job: b.ClaimedJob
    context: JobContext
    claimed_at: float
    task: asyncio.Task[None] | None = None
    lost: bool = False
    slots: int = 1
    meter: Meter = field(default_factory=Meter)


class Executor:
    """Every job the worker holds: claimed ahead of free slots (``ready``) or ``running``.

    Jobs claimed ahead start as slots free up, never once the worker is stopping. A sync task's
    thread cannot be stopped: when its attempt times out or is cancelled, the thread runs on and
    its slot stays taken until it returns (``threads_alive``), so the worker never runs more
    than ``concurrency`` at once. Create it on the loop that runs the jobs.
    """

    def __init__(
        self,
        app: Workhorse,
        *,
        worker_id: str,
        concurrency: int,
        control: Control,
        completer: Completer,
        telemetry: WorkerTelemetry,
        stats: WorkerStats,
        pool: ProcessPool,
        cancels: CancelWatch,
    ) -> None:
        self._app = app
        self._pool = pool
        self._cancels = cancels
        self._worker_id = worker_id
        self._concurrency = concurrency
        self._control = control
        self._completer = completer
        self._telemetry = telemetry
        self._stats = stats
        self._loop = asyncio.get_running_loop()
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="workhorse-task")
        self.running: dict[int, _Running] = {}
        self.ready: deque[tuple[b.ClaimedJob, float]] = deque()
        """Claimed ahead of free slots (see ``WorkerConfig.prefetch``), with when claimed."""
        self.threads_alive: dict[int, Future[Any]] = {}
        self._slots: dict[int, int] = {}
        """Slots each running job (or its thread still running) takes, by job id."""
        self.mean_run: float | None = None
        """Recent mean run time of attempts, in seconds (an exponential moving average)."""

    def busy(self) -> int:
        """Slots taken: by running jobs and sync threads still running."""
        return sum(self._slots.values())

    @property
    def idle(self) -> bool:
        """Nothing running, no thread busy, nothing claimed ahead."""
        return not (self.running or self.threads_alive or self.ready)

    def add(self, jobs: Iterable[b.ClaimedJob]) -> None:
        """Take claimed jobs: start them while slots are free, keep the rest ready."""
        at = time.monotonic()
        self.ready.extend((job, at) for job in jobs)
        self.start_ready()

    def start_ready(self) -> None:
        """Start claimed jobs while slots are free (never once stopping)."""
        while self.ready and not self._control.stopping.is_set():
            # The first in line waits for all its slots: a heavy job is never overtaken for good.
            if self.busy() + self._slots_of(self.ready[0][0]) > self._concurrency:
                return
            self._start(self.ready.popleft()[0])

    def holding(self) -> set[int]:
        """The jobs this worker holds: claimed ahead, and running."""
        return {job.id for job, _ in self.ready} | set(self.running)

    def forget_lost(self, held: set[int], since: float) -> list[b.ClaimedJob]:
        """Drop and stop the jobs claimed before ``since`` that are not in ``held`` (cancelled,
        or reaped after the lease expired); returns them."""
        # Claimed ahead but cancelled or reaped meanwhile: never start them.
        lost = [job for job, at in self.ready if job.id not in held and at < since]
        if lost:
            gone = {job.id for job in lost}
            self.ready = deque(entry for entry in self.ready if entry[0].id not in gone)
        for job_id, running in list(self.running.items()):
            if job_id in held or running.claimed_at >= since or running.task is None:
                continue
            # Not ours any more: cancelled, or reaped after our lease expired. Stop it.
            log.warning("job %d is no longer held by this worker (cancelled or lease lost)", job_id)
            running.lost = True
            running.context.cancelled.set()
            running.task.cancel()
            lost.append(running.job)
        return lost

    async def take_back(self, timeout: float) -> list[b.ClaimedJob]:
        """Stop every running job and drop those claimed ahead; returns all of them, to hand
        back. Waits up to ``timeout`` seconds for the stopped attempts to unwind."""
        remaining = list(self.running.values())
        jobs = [r.job for r in remaining] + [job for job, _ in self.ready]
        self.ready.clear()
        for running in remaining:
            running.context.cancelled.set()
            if running.task is not None:
                running.task.cancel()
        tasks = [r.task for r in remaining if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=max(timeout, 0.001))
        return jobs

    def close(self) -> None:
        """Let the task threads go: those still running end when their function returns."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _slots_of(self, job: b.ClaimedJob) -> int:
        """The slots ``job`` takes: its task's, never more than the whole worker."""
        task = self._app.tasks.get(job.task)
        return min(task.slots if task is not None else 1, self._concurrency)

    def _isolation_of(self, job: b.ClaimedJob, task: Task[Any, Any]) -> Isolation:
        return Isolation(job.isolation) if job.isolation is not None else task.isolation

    # -- running one job ---------------------------------------------------------------------

    def _start(self, job: b.ClaimedJob) -> None:
        deadline = None
        if job.timeout is not None:
            deadline = self._app.clock() + timedelta(seconds=job.timeout)
        context = JobContext(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            tenant=job.tenant,
            queue=job.queue,
            task=job.task,
            worker_id=self._worker_id,
            deadline=deadline,
            _report=functools.partial(self._report_progress, job.lease_token),
            _parents=self._app.parent_results,
        )
        running = _Running(
            job=job, context=context, claimed_at=time.monotonic(), slots=self._slots_of(job)
        )
        self.running[job.id] = running
        self._slots[job.id] = running.slots
        running.task = asyncio.create_task(self._execute(running), name=f"job-{job.id}")

    async def _execute(self, running: _Running) -> None:
        job = running.job
        policy = self._app.retry_policy_for(job.task)
        began = time.monotonic()
        with self._telemetry.attempt(job) as attempt:
            try:
                result = await self._call(running)
            except asyncio.CancelledError:
                if running.lost:
                    self._stats.lost += 1
                self._finish(job.id)
                return  # lost, cancelled or handed back: the outcome is not ours to write
            except BaseException as exc:
                usage = self._ran(running, time.monotonic() - began)
                log.info("job %d (%s) attempt %d failed: %r", job.id, job.task, job.attempt, exc)
                self._stats.failed += 1
                outcome = self._failed(job, exc, policy)
                attempt.ended(outcome.state, exc)
            else:
                usage = self._ran(running, time.monotonic() - began)
                self._stats.succeeded += 1
                outcome = outcomes.succeeded(job, result, self._app.clock(), policy)
                attempt.ended(outcome.state)
            self._telemetry.used(job, usage)
            self._completer.add(replace(outcome, usage=usage))
        self._finish(job.id)

    def _failed(self, job: b.ClaimedJob, exc: BaseException, policy: RetryPolicy) -> b.Outcome:
        """The outcome of a failed attempt; a task's error in a child keeps the child's record."""
        return outcomes.failure(
            job_id=job.id,
            lease_token=job.lease_token,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            error=exc.record if isinstance(exc, RemoteError) else outcomes.error_record(exc),
            now=self._app.clock(),
            policy=policy,
        )

    async def _call(self, running: _Running) -> JSON:
        job = running.job
        task = self._app.tasks.get(job.task)
        if task is None:
            raise UnknownTaskError(f"task {job.task!r} is not registered in this worker's app")
        token = _current.set(running.context)
        try:
            if job.timeout is None:
                return await self._invoke(running, task)
            scope = asyncio.timeout(job.timeout)
            try:
                async with scope:
                    return await self._invoke(running, task)
            except TimeoutError as exc:
                if scope.expired():
                    message = f"job {job.id} ran past its timeout of {job.timeout:g}s"
                    raise JobTimeoutError(message) from exc
                raise
        finally:
            _current.reset(token)

    async def _invoke(self, running: _Running, task: Task[Any, Any]) -> JSON:
        job = running.job
        if self._isolation_of(job, task) is Isolation.PROCESS:
            return await self._call_in_child(running, task)
        if task.is_async:
            return await task.fn(*job.args, **job.kwargs)  # type: ignore[no-any-return]
        return await self._call_sync(running, task.fn)

    async def _call_in_child(self, running: _Running, task: Task[Any, Any]) -> JSON:
        job, context = running.job, running.context
        limit = job.memory_limit if job.memory_limit is not None else task.memory_limit
        request = Request(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            tenant=job.tenant,
            queue=job.queue,
            task=job.task,
            args=job.args,
            kwargs=job.kwargs,
            worker_id=self._worker_id,
            deadline=context.deadline,
            memory_limit=limit,
        )
        started = functools.partial(self._cancels.started, job.id)
        try:
            return await self._pool.run(request, running.meter, context.report_progress, started)
        finally:
            self._cancels.forget(job.id)

    async def _call_sync(self, running: _Running, fn: Callable[..., Any]) -> JSON:
        """Run a sync task on a thread. A timed-out or cancelled attempt ends at once, but the
        thread runs on until the function returns; its slot stays taken until then."""
        job_id, job = running.job.id, running.job
        timed = functools.partial(_thread_timed, running.meter, fn)
        call = functools.partial(contextvars.copy_context().run, timed, *job.args, **job.kwargs)
        future = self._threads.submit(call)
        self.threads_alive[job_id] = future
        future.add_done_callback(
            lambda _: self._loop.call_soon_threadsafe(self._thread_done, job_id, future)
        )
        return await asyncio.wrap_future(future)

    def _thread_done(self, job_id: int, future: Future[Any]) -> None:
        if self.threads_alive.get(job_id) is future:
            del self.threads_alive[job_id]
            if job_id not in self.running:
                self._slots.pop(job_id, None)
            self.start_ready()
            self._control.woken.set()

    def _ran(self, running: _Running, seconds: float) -> b.AttemptUsage:
        mean = self.mean_run
        self.mean_run = seconds if mean is None else 0.9 * mean + 0.1 * seconds
        meter = running.meter
        return b.AttemptUsage(
            wall_seconds=seconds,
            cpu_seconds=meter.cpu_seconds,
            max_rss_bytes=meter.max_rss_bytes,
            slots=running.slots,
        )

    def _finish(self, job_id: int) -> None:
        self.running.pop(job_id, None)
        if job_id not in self.threads_alive:
            self._slots.pop(job_id, None)
        self.start_ready()
        self._control.woken.set()

    def _report_progress(self, token: str, job_id: int, value: JSON) -> None:
        # Called from the loop (async tasks) or a task thread (sync tasks): always hop safely.
        self._loop.call_soon_threadsafe(self._completer.progress, job_id, token, value)


def _thread_timed(meter: Meter, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, its thread's CPU time recorded in ``meter``."""
    began = time.thread_time()
    try:
        return fn(*args, **kwargs)
    finally:
        meter.cpu_seconds = time.thread_time() - began
