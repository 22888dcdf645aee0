"""One run of a worker: claim, run and complete jobs until stopped, then shut down in bounded time.

The run's loops (fetcher, completer, heartbeater, maintenance, event dispatch, parent watch)
live in one ``asyncio.TaskGroup`` and its resources (the listener's thread, the task threads, the
registry row) in one ``AsyncExitStack``, so every way out (a stop, the end of a burst, an error,
a cancel) releases all of them. The shutdown never waits on the database without a deadline: the
grace period for running jobs, then ``CLEAN_UP`` for handing back what is left, writing the last
outcomes and leaving the registry. What the database does not take in that time stays running
under this worker's lease, and comes back when the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall, one_at_a_time
from workhorse.events.dispatcher import Dispatcher, needs_leader
from workhorse.events.process import DispatchCommand, DispatchProcess
from workhorse.observability import logs
from workhorse.observability.worker_hooks import WorkerTelemetry
from workhorse.scheduling.maintenance import Maintenance, MaintenanceConfig
from workhorse.worker.cancels import CancelWatch
from workhorse.worker.completer import Completer
from workhorse.worker.config import DispatchMode, WorkerConfig
from workhorse.worker.control import Control
from workhorse.worker.execution import Executor
from workhorse.worker.fetcher import Fetcher
from workhorse.worker.heartbeater import Heartbeater
from workhorse.worker.listening import Listening
from workhorse.worker.processes import ProcessPool
from workhorse.worker.stats import WorkerStats

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.worker")

T = TypeVar("T")

CLEAN_UP = 5.0
"""Seconds the shutdown may take after the grace period: handing jobs back, writing the last
outcomes, resigning the maintenance lease and leaving the worker registry."""

HURRIED_CLAIM = 1.0
"""Seconds a hurried stop (the second) still waits for a claim in flight: the jobs it takes are
then handed back with the rest. Cut off sooner, the claim would still run in its thread, and
could take again the very jobs the hand-back has just returned to the queue, to sit under this
stopped worker's lease until it expires."""


class Session:
    """One run of the worker ``worker_id`` over an open ``backend``.

    ``control`` carries the stop requests (``stop`` is how the run asks for one itself, when its
    parent process is gone); ``db`` runs the backend's operations off the loop. Create it on the
    loop that runs it.
    """

    def __init__(
        self,
        app: Workhorse,
        config: WorkerConfig,
        *,
        worker_id: str,
        started_at: datetime,
        backend: b.Backend,
        db: DbCall,
        control: Control,
        stop: Callable[[], None],
        stats: WorkerStats,
        telemetry: WorkerTelemetry,
        maintenance: MaintenanceConfig | None,
        pool: ProcessPool,
    ) -> None:
        self._app = app
        self._pool = pool
        self._config = config
        self._id = worker_id
        self._backend = backend
        self._db = telemetry.instrument(db, backend)
        self._control = control
        self._stop = stop
        self._stats = stats
        self._loop = asyncio.get_running_loop()
        # The completer and the heartbeater write the same running rows, locking them in
        # different orders (the batch's, the worker index's): taking turns, they cannot
        # deadlock each other.
        self._lease_writes = one_at_a_time(self._db)
        self._completer = Completer(
            backend,
            self._lease_writes,
            app.clock,
            batch=config.completion_batch,
            delay=config.completion_delay,
            usage_window=app.fair_share_window,
        )
        self.executor = Executor(
            app,
            worker_id=worker_id,
            concurrency=config.concurrency,
            control=control,
            completer=self._completer,
            telemetry=telemetry,
            stats=stats,
            pool=pool,
            cancels=CancelWatch(app.waiters, backend, self._db, self._beat_soon),
        )
        self._heartbeater = self._new_heartbeater(started_at, telemetry)
        self._fetcher = self._new_fetcher()
        self._maintenance = (
            Maintenance(app, holder=worker_id, db=self._db, config=maintenance)
            if config.maintenance
            else None
        )
        self._dispatcher = self._new_dispatcher()
        self._cleaning = False
        self._clean_up_by = 0.0

    def _beat_soon(self) -> None:
        self._heartbeater.soon()

    def _new_heartbeater(self, started_at: datetime, telemetry: WorkerTelemetry) -> Heartbeater:
        config, clock = self._config, self._app.clock
        registration = b.WorkerHeartbeatParams(
            id=self._id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=config.queues,
            concurrency=config.concurrency,
            now=clock(),
            started_at=started_at,
        )
        return Heartbeater(
            self._backend,
            self._lease_writes,
            clock,
            registration=registration,
            lease=config.lease,
            interval=config.heartbeat,
            telemetry=telemetry,
            forget=self.executor.forget_lost,
            holding=self.executor.holding,
        )

    def _new_dispatcher(self) -> Dispatcher | DispatchProcess | None:
        """The outbox's dispatcher as ``config.dispatch`` asks (none without maintenance)."""
        mode = self._config.dispatch
        if mode is DispatchMode.OFF or self._maintenance is None:
            return None
        if mode is DispatchMode.PROCESS and not needs_leader(self._backend.url):
            level, fmt = logs.current()  # the child logs as this worker does
            command = DispatchCommand(
                database_url=self._app.database_url, log_level=level, log_format=fmt
            )
            return DispatchProcess(command, wanted=self._destinations_exist)
        return self._inline_dispatcher()

    async def _destinations_exist(self) -> bool:
        return bool(await self._db(self._backend.destination_list, b.DestinationListParams()))

    def _inline_dispatcher(self) -> Dispatcher:
        """The outbox's dispatcher on this loop; on SQLite it dispatches only while this worker
        leads."""
        maintenance = self._maintenance
        active = (lambda: maintenance.leading) if maintenance is not None else (lambda: False)
        return Dispatcher(
            self._backend,
            self._db,
            self._app.clock,
            config=self._app.dispatcher_config,
            active=active if needs_leader(self._backend.url) else (lambda: True),
        )

    def _new_fetcher(self) -> Fetcher:
        return Fetcher(
            self._app,
            self._config,
            worker_id=self._id,
            backend=self._backend,
            db=self._db,
            control=self._control,
            executor=self.executor,
            completer=self._completer,
            stats=self._stats,
        )

    # -- the run -----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Register, work until stopped (or, with ``burst``, out of work), then shut down.

        Raises ``StoppedEarly`` if a stop comes before the worker is registered."""
        await self._control.unless_stopped(self._heartbeater.register())
        log.info(
            "worker %s started: queues=%s concurrency=%d",
            self._id,
            ",".join(self._config.queues),
            self._config.concurrency,
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.callback(self.executor.close)
                stack.push_async_callback(self._leave)
                await self._pool.open(prestart=self._app.isolates_any())
                await self._listen(stack)
                group = await stack.enter_async_context(asyncio.TaskGroup())
                background = self._start_background(group)
                try:
                    await self._work(group)
                finally:
                    self._deadline()  # the clean-up time starts now
                    await self._hand_back()
                    await self._flush()
                    for task in background:
                        task.cancel()
        except BaseExceptionGroup as errors:
            # One loop failed (a bug): raise its error itself, as a run without a group would.
            if len(errors.exceptions) == 1:
                raise errors.exceptions[0] from None
            raise
        self._log_stopped()

    def clean_up_left(self) -> float:
        """Seconds left for the clean-up; none if it never began (the run held nothing)."""
        return max(0.0, self._clean_up_by - self._loop.time()) if self._cleaning else 0.0

    def _deadline(self) -> float:
        """When the clean-up must be over (loop time); its time starts when first asked for."""
        if not self._cleaning:
            self._clean_up_by = self._loop.time() + CLEAN_UP
            self._cleaning = True
        return self._clean_up_by

    def _start_background(self, group: asyncio.TaskGroup) -> list[asyncio.Task[None]]:
        tasks = [
            group.create_task(self._completer.run(), name="completer"),
            group.create_task(self._heartbeater.run(), name="heartbeat"),
        ]
        if self._maintenance is not None:
            tasks.append(group.create_task(self._maintenance.run(), name="maintenance"))
        if self._dispatcher is not None:
            tasks.append(group.create_task(self._dispatcher.run(), name="events"))
        if self._config.parent_pid is not None:
            watch = self._watch_parent(self._config.parent_pid)
            tasks.append(group.create_task(watch, name="parent"))
        return tasks

    async def _listen(self, stack: contextlib.AsyncExitStack) -> None:
        listener = await self._db(self._backend.listener, self._config.queues)
        if listener is not None:
            self._fetcher.listening = True
            await stack.enter_async_context(Listening(listener, self._control.wake))

    async def _work(self, group: asyncio.TaskGroup) -> None:
        """Fetch until a stop (or, with ``burst``, until no work is left), then drain."""
        fetching = group.create_task(self._fetcher.run(), name="fetcher")
        stopped = group.create_task(self._control.stopping.wait(), name="stopped")
        await asyncio.wait([fetching, stopped], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        await self._drain(fetching)

    async def _drain(self, fetching: asyncio.Task[None]) -> None:
        """Give the claim in flight and the running jobs the grace period; after a hurry, the
        claim in flight only (``HURRIED_CLAIM`` at most)."""
        deadline = time.monotonic() + self._config.grace.total_seconds()
        while not fetching.done() or self.executor.running:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._control.hurry.is_set():
                await asyncio.wait([fetching], timeout=min(remaining, HURRIED_CLAIM))
                break
            await self._control.pause(min(remaining, 0.1))
        if not fetching.done():
            log.warning(
                "the fetcher got no answer from the database in time; "
                "jobs a claim in flight takes return to the queue when their leases expire"
            )
            fetching.cancel()

    async def _watch_parent(self, pid: int) -> None:
        while os.getppid() == pid:
            await asyncio.sleep(1)
        log.warning("parent process %d is gone; stopping", pid)
        self._stop()

    # -- the clean-up, within CLEAN_UP -------------------------------------------------------

    async def _hand_back(self) -> None:
        """Stop the jobs still running and hand them, and those claimed ahead, back to the
        queue without spending their attempt."""
        jobs = await self.executor.take_back(self.clean_up_left())
        if not jobs:
            return

        def release() -> Awaitable[list[int]]:
            params = b.JobReleaseParams(
                ids=[job.id for job in jobs],
                lease_token_by_id={job.id: job.lease_token for job in jobs},
                now=self._app.clock(),
            )
            return self._db(self._backend.job_release, params)

        try:
            released = await self._retried(release)
        except Exception as exc:
            self._strand(len(jobs), "hand back", _why(exc))
            return
        self._stats.released += len(released)
        log.info("handed %d running job(s) back to the queue", len(released))

    async def _retried(self, step: Callable[[], Awaitable[T]]) -> T:
        """``step()``, retried with backoff while it fails until the clean-up time is up; then
        its last error (or TimeoutError if it never answered)."""
        backoff = Backoff(cap=1.0)
        failure: Exception | None = None
        try:
            async with asyncio.timeout_at(self._deadline()):
                while True:
                    try:
                        return await step()
                    except Exception as exc:
                        failure = exc
                    await asyncio.sleep(backoff.next())
        except TimeoutError:
            if failure is None:
                raise
            raise failure from None

    async def _flush(self) -> None:
        """Write the outcomes the completer still holds."""
        try:
            async with asyncio.timeout_at(self._deadline()):
                await self._completer.drained()
        except TimeoutError:
            if self._completer.pending:
                why = f"not written within {CLEAN_UP:g}s"
                self._strand(self._completer.pending, "write the outcome of", why)

    async def _leave(self) -> None:
        """Resign the maintenance lease and leave the worker registry. Failures are only
        logged: the lease expires and the pruner removes the row."""
        if self._maintenance is not None:
            await self._quietly("resigning the maintenance lease", self._maintenance.resign)
        row = b.WorkerDeleteParams(id=self._id)
        await self._quietly(
            "leaving the worker registry", lambda: self._db(self._backend.worker_delete, row)
        )

    async def _quietly(self, what: str, step: Callable[[], Awaitable[object]]) -> None:
        if not self.clean_up_left():
            log.warning("%s skipped: no clean-up time left", what)
            return
        try:
            async with asyncio.timeout_at(self._deadline()):
                await step()
        except Exception as exc:
            log.warning("%s failed (%s)", what, _why(exc))

    def _strand(self, count: int, what: str, why: str) -> None:
        """Count and log jobs left running under this worker's lease."""
        self._stats.stranded += count
        log.error(
            "could not %s %d job(s): %s; they return to the queue when their leases expire "
            "(within %gs)",
            what,
            count,
            why,
            self._config.lease.total_seconds(),
        )

    def _log_stopped(self) -> None:
        stats = self._stats
        log.info(
            "worker %s stopped: %d succeeded, %d failed, %d handed back, %d cancelled or lost, "
            "%d left to lease expiry",
            self._id,
            stats.succeeded,
            stats.failed,
            stats.released,
            stats.lost,
            stats.stranded,
        )


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"the database did not answer within {CLEAN_UP:g}s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
