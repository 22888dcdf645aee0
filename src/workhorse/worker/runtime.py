"""The worker: claims jobs, runs them, writes outcomes, heartbeats, and shuts down gracefully.

One asyncio loop per process runs the fetcher, the completer, the heartbeater and (when elected)
the maintenance services (see ``session``). Async tasks run on the loop; sync tasks on a thread
pool sized to the concurrency. Backend calls run on two threads of their own, so the loop never
blocks on I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from workhorse.backends import base as b
from workhorse.dbcall import DbThreads
from workhorse.observability import logs
from workhorse.observability.metrics import WorkerMetrics
from workhorse.observability.worker_hooks import WorkerTelemetry
from workhorse.scheduling.maintenance import MaintenanceConfig
from workhorse.worker.config import WorkerConfig
from workhorse.worker.control import Control, StoppedEarly
from workhorse.worker.processes import Limits, ProcessPool
from workhorse.worker.session import Session
from workhorse.worker.stats import WorkerStats

if TYPE_CHECKING:
    from workhorse.app import Workhorse

__all__ = ["Worker", "WorkerStats"]

log = logging.getLogger("workhorse.worker")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Worker:
    """Runs jobs of ``app`` from ``config.queues``. ``run()`` blocks until shut down.

    A Worker runs once. ``stop()`` is safe at any time and from any thread: before the run (which
    then returns at once), during it, again to hurry, or after it.
    """

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
        self.metrics.database_up = self._database_up
        self._telemetry = WorkerTelemetry(self.id, self.metrics, app.metrics)
        self._maintenance_config = maintenance
        self._control = Control()
        self._started_at = app.clock()
        self._ran = False
        self._session: Session | None = None
        self._hung_calls = 0
        """Database calls still running when the run ended (they did not answer in time)."""

    def _database_up(self) -> bool:
        """Whether the last call to the database reached it (SQLite's always does)."""
        health = getattr(self.app.backend, "health", None)
        return health is None or bool(health.up)

    # -- entry points ------------------------------------------------------------------------

    def run(self) -> None:
        """Run until SIGTERM/SIGINT (or, with ``burst``, until no work is left)."""
        asyncio.run(self.run_async(install_signal_handlers=True))

    async def run_async(self, *, install_signal_handlers: bool = False) -> None:
        """Run on the current loop until stopped (or, with ``burst``, until no work is left)."""
        if self._ran:
            raise RuntimeError("a Worker runs once; create a new one to run again")
        self._ran = True
        loop = asyncio.get_running_loop()
        self._control.bind(loop)
        if self._control.stopping.is_set():
            log.info("worker %s stopped before it started", self.id)
            return
        logs.bind_worker(self.id)
        pool = self._new_pool()
        signals = _stop_on_signals(loop, self.stop) if install_signal_handlers else None
        try:
            with signals or contextlib.nullcontext():
                await self._serve(pool)
        except StoppedEarly:
            log.info("worker %s stopped while starting", self.id)
        finally:
            await pool.close()

    def stop(self) -> None:
        """Stop claiming and let running jobs finish within the grace period; a second call
        hands them back at once. Later calls change nothing."""
        requests = self._control.stop()
        if requests == 1:
            log.info(
                "stopping: no new claims; waiting up to %s for running jobs", self.config.grace
            )
        elif requests == 2:
            log.warning("second stop signal: handing running jobs back now")

    def wake(self) -> None:
        """Claim now instead of at the next poll (thread-safe)."""
        self._control.wake()

    @property
    def threads_alive(self) -> int:
        """Threads still running: sync tasks (including those whose attempt timed out or was
        handed back) and database calls that had not answered when the run ended."""
        tasks = 0 if self._session is None else len(self._session.executor.threads_alive)
        return tasks + self._hung_calls

    def _busy(self) -> int:
        return 0 if self._session is None else self._session.executor.busy()

    def _new_pool(self) -> ProcessPool:
        """The children for process-isolated jobs, their fork server started before the run's
        own threads."""
        config = self.config
        limits = Limits(
            processes=config.process_count,
            max_jobs_per_child=config.max_jobs_per_child,
            max_memory_per_child=config.max_memory_per_child,
        )
        pool = ProcessPool(self.app, limits)
        pool.start()
        return pool

    async def _serve(self, pool: ProcessPool) -> None:
        db = DbThreads(2)
        try:
            backend = await self._control.unless_stopped(db(_open, self.app))
            self._session = Session(
                self.app,
                self.config,
                worker_id=self.id,
                started_at=self._started_at,
                backend=backend,
                db=db,
                control=self._control,
                stop=self.stop,
                stats=self.stats,
                telemetry=self._telemetry,
                maintenance=self._maintenance_config,
                pool=pool,
            )
            await self._session.serve()
        finally:
            left = 0.0 if self._session is None else self._session.clean_up_left()
            self._hung_calls = await db.close(left)
            if self._hung_calls:
                log.warning(
                    "%d database call(s) still without an answer; not waiting for them",
                    self._hung_calls,
                )


def _open(app: Workhorse) -> b.Backend:
    return app.backend


@contextlib.contextmanager
def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Iterator[None]:
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
