"""The fetcher: claims jobs for the free slots, fairly, and hands them to the executor."""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall
from workhorse.worker.completer import Completer
from workhorse.worker.config import WorkerConfig
from workhorse.worker.control import Control
from workhorse.worker.execution import Executor
from workhorse.worker.stats import WorkerStats

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.worker")


class Fetcher:
    """Claims up to the free slots (plus a prefetch while recent jobs are short) in one claim.

    ``run`` claims until a stop request or, with ``burst``, until nothing is left to run. It waits
    for a wake-up (a job ended, a notification) while the slots are full, and polls while idle; a
    claim that fails (database down) is retried with backoff, cut short by a stop.
    """

    def __init__(
        self,
        app: Workhorse,
        config: WorkerConfig,
        *,
        worker_id: str,
        backend: b.Backend,
        db: DbCall,
        control: Control,
        executor: Executor,
        completer: Completer,
        stats: WorkerStats,
    ) -> None:
        self._app = app
        self._config = config
        self._id = worker_id
        self._backend = backend
        self._db = db
        self._control = control
        self._executor = executor
        self._completer = completer
        self._stats = stats
        self.listening = False
        """Whether a listener wakes the fetcher on new jobs (polling is then only a fallback)."""

    async def run(self) -> None:
        """Claim until stopped (or, with ``burst``, until no work is left)."""
        idle_since: float | None = None
        woken = False
        backoff = Backoff()
        stopping = self._control.stopping
        while not stopping.is_set():
            self._executor.start_ready()
            room = self._room()
            if room <= 0:
                await self._control.pause(None)
                continue
            try:
                limit = min(room, self._config.claim_limit)
                claimed = await self._claim(limit, poll=idle_since is not None and not woken)
                backoff.reset()
            except Exception as exc:
                delay = backoff.next()
                log.warning("claim failed (%s); retrying in %.2fs", exc, delay)
                await self._control.sleep(delay)
                continue
            if claimed:
                idle_since = None
                continue
            if self._config.burst and await self._burst_done():
                log.info("burst: no work left")
                return
            idle_since = idle_since or time.monotonic()
            woken = await self._control.pause(self._poll_delay(idle_since))

    def _room(self) -> int:
        """How many jobs to claim now: free slots, plus the prefetch while jobs are short."""
        executor = self._executor
        room = self._config.concurrency - executor.busy() - len(executor.ready)
        below = self._config.prefetch_below.total_seconds()
        if executor.mean_run is not None and executor.mean_run < below:
            room += self._config.prefetch_limit
        return room

    async def _claim(self, limit: int, *, poll: bool) -> list[b.ClaimedJob]:
        """Claim up to ``limit`` jobs. With ``poll`` (idle, and the poll interval, not a
        wake-up, ended the wait), first ask with a cheap read whether there is anything to
        claim, so idle workers' looks for work stay polls; a worker woken (new jobs notified, a
        slot freed) or busy claims at once: the claim itself is the check."""
        params = b.JobClaimParams(
            worker_id=self._id,
            queues=self._config.queues,
            limit=limit,
            lease_token=uuid.uuid4().hex,
            lease_for=self._config.lease,
            now=self._app.clock(),
            usage_window=self._app.fair_share_window,
        )
        if poll:
            check = b.JobPollParams(queues=self._config.queues, now=params.now)
            if not await self._db(self._backend.job_poll, check):
                return []
        claimed = await self._db(self._backend.job_claim, params)
        if claimed:
            self._stats.claimed += len(claimed)
            self._stats.claim_batches.append(len(claimed))
            self._executor.add(claimed)
        return claimed

    async def _burst_done(self) -> bool:
        if not self._executor.idle:
            return False
        if not self._completer.idle:
            # Outcomes still to write may release dependents (blocked jobs become queued in the
            # transaction that finishes their last parent): write them, then claim once more.
            await self._completer.drained()
            return False
        # The claim just found nothing runnable; what is left is waiting for a retry, or not
        # runnable now (a paused tenant, a quota): burst waits only for the retries.
        poll = b.JobPollParams(
            queues=self._config.queues,
            now=self._app.clock(),
            include_queued=False,
            include_retrying=True,
        )
        return not await self._db(self._backend.job_poll, poll)

    def _poll_delay(self, idle_since: float) -> float:
        """Poll at the configured interval, slowing to 10x after a minute idle. With a listener,
        notifications wake the fetcher and polling is only the fallback (at most every second)."""
        base = self._config.poll_interval.total_seconds()
        if self.listening:
            base = max(base, 1.0)
        return base * 10 if time.monotonic() - idle_since > 60 else base
