"""The heartbeater: keeps a worker's leases and its registry row alive."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Collection
from datetime import timedelta

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall
from workhorse.jobs import JobState
from workhorse.observability.metrics import Outcome
from workhorse.observability.worker_hooks import WorkerTelemetry
from workhorse.types import Clock

log = logging.getLogger("workhorse.worker")

LOST_LOOKUPS = 50
"""Lost jobs whose state one heartbeat reads, to tell a cancel from a lost lease."""

Forget = Callable[[set[int], float], list[b.ClaimedJob]]
"""``forget(held, since)``: drop and stop the jobs claimed before ``since`` (monotonic) that are
not among ``held``, the ids the database says the worker still holds; returns them."""


class Heartbeater:
    """Every ``interval``, extends the lease of every job the worker holds (one statement) and
    refreshes its row in the worker registry.

    The jobs the database no longer gives the worker (cancelled, or reaped after the lease
    expired) are passed to ``forget`` and counted as cancelled or lost. A beat that fails
    (database down) is retried with backoff and never raised: leases expire if it persists.
    """

    def __init__(
        self,
        backend: b.Backend,
        db: DbCall,
        clock: Clock,
        *,
        registration: b.WorkerHeartbeatParams,
        lease: timedelta,
        interval: timedelta,
        telemetry: WorkerTelemetry,
        forget: Forget,
        holding: Callable[[], Collection[int]],
    ) -> None:
        """``registration`` is the worker's registry row; each beat writes it with a new ``now``."""
        self._backend = backend
        self._db = db
        self._clock = clock
        self._registration = registration
        self._lease = lease
        self._interval = interval.total_seconds()
        self._telemetry = telemetry
        self._forget = forget
        self._holding = holding
        self._soon = asyncio.Event()

    def soon(self) -> None:
        """Beat now rather than at the end of the interval (a job held here may have been
        cancelled)."""
        self._soon.set()

    async def run(self) -> None:
        """Beat every interval (or sooner, when asked) until cancelled."""
        backoff = Backoff(cap=self._interval)
        delay = self._interval
        while True:
            await self._pause(delay)
            try:
                await self.beat()
                backoff.reset()
                delay = self._interval
            except Exception as exc:
                delay = backoff.next()
                log.warning("heartbeat failed (%s); leases expire if this persists", exc)

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._soon.wait()
        self._soon.clear()

    async def beat(self) -> None:
        """Extend the leases, refresh the registry row, forget the jobs no longer held."""
        started = time.monotonic()
        params = b.JobHeartbeatParams(
            worker_id=self._registration.id,
            ids=sorted(self._holding()),
            lease_for=self._lease,
            now=self._clock(),
        )
        held = set(await self._db(self._backend.job_heartbeat, params))
        await self.register()
        lost = self._forget(held, started)
        if lost:
            await self._count_lost(lost)

    async def register(self) -> None:
        """Write the worker's registry row (the first beat, before any claim)."""
        params = dataclasses.replace(self._registration, now=self._clock())
        await self._db(self._backend.worker_heartbeat, params)

    async def _count_lost(self, jobs: list[b.ClaimedJob]) -> None:
        """Count jobs taken from under this worker as cancelled or lost (reaped), reading the
        state of at most ``LOST_LOOKUPS`` of them (the rest count as lost)."""
        for index, job in enumerate(jobs):
            outcome = Outcome.LOST
            if index < LOST_LOOKUPS:
                try:
                    found = await self._db(self._backend.job_get, b.JobGetParams(id=job.id))
                except Exception:
                    found = None
                if found is not None and found.state is JobState.CANCELLED:
                    outcome = Outcome.CANCELLED
            self._telemetry.lost(job, outcome)
