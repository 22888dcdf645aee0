"""Batches outcomes and progress into few database writes."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall
from workhorse.fairness import USAGE_WINDOW
from workhorse.serialization import dumps
from workhorse.types import JSON, Clock

log = logging.getLogger("workhorse.worker")


class Completer:
    """Collects outcomes from finished attempts and writes them in batches.

    A write that fails (database down) is retried with backoff; an outcome whose lease was lost
    meanwhile is fenced off by the database and counted in ``fenced``.
    """

    def __init__(
        self,
        backend: b.Backend,
        run: DbCall,
        clock: Clock,
        *,
        batch: int,
        delay: timedelta,
        usage_window: timedelta = USAGE_WINDOW,
    ) -> None:
        self._backend = backend
        self._run = run
        self._clock = clock
        self._batch = batch
        self._usage_window = usage_window
        self._delay = delay.total_seconds()
        self._outcomes: list[b.Outcome] = []
        self._progress: dict[int, str] = {}
        self._tokens: dict[int, str] = {}
        self._pending = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.written = 0
        self.fenced = 0

    def add(self, outcome: b.Outcome) -> None:
        self._outcomes.append(outcome)
        self._idle.clear()
        self._pending.set()

    def progress(self, job_id: int, token: str, value: JSON) -> None:
        self._progress[job_id] = dumps(value, "progress")
        self._tokens[job_id] = token
        self._idle.clear()
        self._pending.set()

    @property
    def pending(self) -> int:
        """Outcomes added and not yet written."""
        return len(self._outcomes)

    @property
    def idle(self) -> bool:
        """Everything added so far is written."""
        return self._idle.is_set()

    async def drained(self) -> None:
        """Wait until everything added so far is written."""
        await self._idle.wait()

    async def run(self) -> None:
        """Write batches until cancelled; cancel only after ``drained``."""
        backoff = Backoff()
        while True:
            await self._pending.wait()
            if len(self._outcomes) < self._batch and self._delay:
                await asyncio.sleep(self._delay)
            try:
                await self._flush()
                backoff.reset()
            except Exception as exc:
                delay = backoff.next()
                log.warning("writing outcomes failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def _flush(self) -> None:
        if self._progress:
            progress, tokens = self._progress, self._tokens
            self._progress, self._tokens = {}, {}
            params = b.JobProgressParams(
                progress_json_by_id=progress, lease_token_by_id=tokens, now=self._clock()
            )
            try:
                await self._run(self._backend.job_progress, params)
            except Exception:
                self._progress = progress | self._progress
                self._tokens = tokens | self._tokens
                raise
        batch = self._outcomes[: self._batch]
        if batch:
            params2 = b.JobFinishManyParams(
                outcomes=batch, now=self._clock(), usage_window=self._usage_window
            )
            written = await self._run(self._backend.job_finish_many, params2)
            del self._outcomes[: len(batch)]
            count = len(written)
            self.written += count
            if count < len(batch):
                self.fenced += len(batch) - count
                log.warning(
                    "%d outcome(s) fenced off: lease lost or job cancelled", len(batch) - count
                )
        if not self._outcomes and not self._progress:
            self._pending.clear()
            self._idle.set()
