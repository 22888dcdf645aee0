"""Leader-elected maintenance: one process at a time runs the periodic services.

Every worker (and ``workhorse serve``) takes part in the election; the holder of the
``maintenance`` lease runs the promoter, reaper, cron and pruner, and vacuums the fair order's
index. A holder acts only while its lease is comfortably valid (renewed within half its TTL), so
a stalled leader stops acting before another can take over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall
from workhorse.scheduling.cron import fire_due
from workhorse.scheduling.promoter import promote
from workhorse.scheduling.pruner import (
    forget_idempotency_keys,
    forget_workers,
    prune,
    prune_events,
)
from workhorse.scheduling.reaper import reap

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.maintenance")

LEADER_NAME = "maintenance"


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceConfig:
    elect_interval: timedelta = timedelta(seconds=1)
    leader_ttl: timedelta = timedelta(seconds=10)
    promote_interval: timedelta = timedelta(milliseconds=200)
    reap_interval: timedelta = timedelta(seconds=1)
    cron_interval: timedelta = timedelta(seconds=1)
    prune_interval: timedelta = timedelta(minutes=1)
    places_vacuum_interval: timedelta = timedelta(seconds=10)
    """Every claim leaves old entries in the fair order's index, which the next claims step over
    until a vacuum (``Backend.places_vacuum``)."""
    retention: timedelta = timedelta(days=7)
    """How long finished jobs, and events every destination is done with, are kept."""
    worker_ttl: timedelta = timedelta(minutes=1)
    """Registry rows of workers silent this long are removed."""


@dataclass(slots=True)
class _Service:
    name: str
    interval: float
    run: Callable[[datetime], int]
    next_at: float = 0.0


class Maintenance:
    """Runs leader election and, while leading, the periodic services."""

    def __init__(
        self,
        app: Workhorse,
        *,
        holder: str,
        db: DbCall,
        config: MaintenanceConfig | None = None,
    ) -> None:
        self.config = config or MaintenanceConfig()
        backend = app.backend
        self._backend = backend
        self._holder = holder
        self._db = db
        self._clock = app.clock
        self._elected_at: float | None = None
        cfg = self.config
        schedules = list(app.schedules.values())
        self._services = [
            _Service(
                "promote", cfg.promote_interval.total_seconds(), lambda now: promote(backend, now)
            ),
            _Service(
                "reap",
                cfg.reap_interval.total_seconds(),
                lambda now: reap(backend, now, app.retry_policy_for),
            ),
            _Service(
                "cron", cfg.cron_interval.total_seconds(), lambda now: fire_due(app, schedules, now)
            ),
            _Service(
                "prune",
                cfg.prune_interval.total_seconds(),
                lambda now: (
                    prune(backend, now, cfg.retention)
                    + prune_events(backend, now, cfg.retention)
                    + forget_workers(backend, now, cfg.worker_ttl)
                    + forget_idempotency_keys(backend, now)
                ),
            ),
            _Service(
                "vacuum",
                cfg.places_vacuum_interval.total_seconds(),
                lambda now: _vacuum_places(backend),
            ),
        ]
        self._next_election = 0.0

    @property
    def leading(self) -> bool:
        """Whether this process holds a lease renewed within half its TTL."""
        if self._elected_at is None:
            return False
        return time.monotonic() - self._elected_at < self.config.leader_ttl.total_seconds() / 2

    async def run(self) -> None:
        """Elect and serve until cancelled; errors are logged, never raised."""
        tick = min(s.interval for s in self._services)
        backoff = Backoff()
        while True:
            try:
                await self.tick()
                backoff.reset()
                await asyncio.sleep(tick)
            except Exception as exc:
                self._elected_at = None  # cannot prove we still lead: stand down until re-elected
                delay = backoff.next()
                log.warning("maintenance failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def tick(self) -> None:
        """One round: renew leadership when due, then run the services that are due."""
        mono = time.monotonic()
        if mono >= self._next_election:
            self._next_election = mono + self.config.elect_interval.total_seconds()
            await self._elect()
        for service in self._services:
            if not self.leading:
                return
            if time.monotonic() >= service.next_at:
                service.next_at = time.monotonic() + service.interval
                count = await self._db(service.run, self._clock())
                if count:
                    log.info("%s: %d job(s)", service.name, count)

    async def _elect(self) -> None:
        started = time.monotonic()
        params = b.LeaderElectParams(
            name=LEADER_NAME, holder=self._holder, ttl=self.config.leader_ttl, now=self._clock()
        )
        won = await self._db(self._backend.leader_elect, params)
        if won and self._elected_at is None:
            log.info("%s became the maintenance leader", self._holder)
        elif not won and self._elected_at is not None:
            log.info("%s lost the maintenance leadership", self._holder)
        self._elected_at = started if won else None

    async def resign(self) -> None:
        if self._elected_at is None:
            return
        self._elected_at = None
        params = b.LeaderResignParams(name=LEADER_NAME, holder=self._holder)
        await self._db(self._backend.leader_resign, params)


def _vacuum_places(backend: b.Backend) -> int:
    """A service's answer is the jobs it handled: none here."""
    backend.places_vacuum()
    return 0
