"""Prompt cancels of process-isolated jobs: the heartbeat is told at once when one ends elsewhere.

A job cancelled while it runs is no longer held by its worker, and the next heartbeat stops it
(``Executor.forget_lost``); with a heartbeat every 2 s, that can take 2 s. A job in a child
process runs on until stopped, so the worker also watches the ends of its isolated jobs through
the app's one watch (``Waiters``: LISTEN on PostgreSQL, the commit counter on SQLite), and a job
that ended elsewhere brings the heartbeat forward. A job is watched only once it has run in its
child for ``WATCH_AFTER`` seconds: the many short jobs cost nothing (one timer serves them all),
and a cancel that came before is seen by one read of the job when its watch begins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from workhorse.backends import base as b
from workhorse.dbcall import DbCall
from workhorse.waiting import Waiters

log = logging.getLogger("workhorse.worker")

WATCH_AFTER = 0.25
"""Seconds a process-isolated job runs before its end is watched."""


class CancelWatch:
    """Calls ``soon`` (on the loop) when a watched job may have ended elsewhere. Create it on
    the loop that runs the jobs."""

    def __init__(
        self, waiters: Waiters, backend: b.Backend, db: DbCall, soon: Callable[[], None]
    ) -> None:
        self._waiters = waiters
        self._backend = backend
        self._db = db
        self._soon = soon
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, float] = {}
        """Jobs running in a child and not yet watched, with when they started (loop time)."""
        self._sweep: asyncio.TimerHandle | None = None
        self._watched: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def started(self, job_id: int) -> None:
        """``job_id`` started in a child: watch it from ``WATCH_AFTER`` seconds on, until
        ``forget``."""
        self._pending[job_id] = self._loop.time()
        if self._sweep is None:
            self._sweep = self._loop.call_later(WATCH_AFTER, self._begin)

    def forget(self, job_id: int) -> None:
        """The job's attempt ended here: stop watching it."""
        self._pending.pop(job_id, None)
        if job_id in self._watched:
            self._watched.discard(job_id)
            self._waiters.unregister(job_id, self._wake)

    def _begin(self) -> None:
        """Watch the jobs that have run ``WATCH_AFTER``; come back while others run (one timer
        for all of them)."""
        self._sweep = None
        due = self._loop.time() - WATCH_AFTER
        for job_id, since in list(self._pending.items()):
            if since <= due:
                del self._pending[job_id]
                self._watch(job_id)
        if self._pending:
            self._sweep = self._loop.call_later(WATCH_AFTER / 2, self._begin)

    def _watch(self, job_id: int) -> None:
        self._watched.add(job_id)
        task = self._loop.create_task(self._register(job_id), name=f"cancel-watch-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _register(self, job_id: int) -> None:
        # Registering opens the watch the first time (a connection): off the loop.
        try:
            await asyncio.to_thread(self._waiters.register, job_id, self._wake)
        except Exception as exc:  # the database is away: the heartbeat sees the cancel, later
            log.warning("cannot watch job %d for a cancel (%s)", job_id, exc)
            self._watched.discard(job_id)
            return
        if job_id not in self._watched:  # its attempt ended meanwhile
            self._waiters.unregister(job_id, self._wake)
            return
        try:
            ended = await self._db(self._backend.job_ended, b.JobEndedParams(ids=[job_id]))
        except Exception as exc:  # the heartbeat still sees the cancel, later
            log.warning("cannot read job %d (%s)", job_id, exc)
            return
        if ended:
            self._soon()  # cancelled before its watch began

    def _wake(self) -> None:
        """From the watch's thread: some watched job may have ended."""
        self._loop.call_soon_threadsafe(self._soon)
