"""Waiting for jobs to end: one watch per process serves every waiter in it.

A waiter registers the job it waits for, then reads the job: if it has ended, that is the answer;
otherwise it sleeps until the watch thread wakes it. The watch (the backend's ``ended_watch``: on
PostgreSQL one LISTEN connection, on SQLite the commit counter the workers watch) is opened before
the first read, so an end committed after the read is always seen. Nobody polls per waiter: the
thread wakes exactly the waiters of the jobs that ended, and on SQLite (which cannot say which
jobs a commit ended) it checks every waited job in one read.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.errors import JobCancelledError, JobFailedError, WorkhorseError
from workhorse.jobs import Job, JobState
from workhorse.types import JSON

log = logging.getLogger("workhorse.waiting")

IDLE_WAIT = 1.0
"""Seconds the watch thread blocks at a time (it also checks, that often, whether to stop)."""

Wake = Callable[[], None]


class Waiters:
    """Every waiter of one app: a registry of wake-ups by job id and the thread that fires them."""

    def __init__(self, backend: Callable[[], Backend]) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._wakes: dict[int, set[Wake]] = defaultdict(set)
        self._watch: b.EndedWatch | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def register(self, job_id: int, wake: Wake) -> None:
        """Call ``wake`` (from the watch thread) once the job may have ended."""
        self._start()
        with self._lock:
            self._wakes[job_id].add(wake)

    def unregister(self, job_id: int, wake: Wake) -> None:
        with self._lock:
            wakes = self._wakes.get(job_id)
            if wakes is not None:
                wakes.discard(wake)
                if not wakes:
                    del self._wakes[job_id]

    @property
    def waiting(self) -> int:
        """How many jobs are waited for now."""
        with self._lock:
            return len(self._wakes)

    @property
    def waiters(self) -> int:
        """How many waiters wait now (several may wait for one job)."""
        with self._lock:
            return sum(len(wakes) for wakes in self._wakes.values())

    def _start(self) -> None:
        """Open the watch (before the caller reads the job) and start its thread, once."""
        with self._lock:
            if self._thread is not None:
                return
            self._watch = self._backend().ended_watch()
            self._thread = threading.Thread(target=self._run, name="workhorse-waiters", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        watch = self._watch
        assert watch is not None  # set before the thread starts
        while not self._stopping.is_set():
            try:
                self._wake(watch.wait(IDLE_WAIT))
            except WorkhorseError as exc:  # the database is away: waiters keep their timeouts
                log.warning("cannot check waited jobs (%s)", exc)
                self._stopping.wait(IDLE_WAIT)

    def _wake(self, ended: Collection[int] | None) -> None:
        """Wake the waiters of ``ended``; of every waited job that has ended, when None."""
        with self._lock:
            waited = set(self._wakes)
        if ended is None and waited:
            ended = self._backend().job_ended(b.JobEndedParams(ids=waited))
        for job_id in waited.intersection(ended or ()):
            with self._lock:
                wakes = list(self._wakes.get(job_id, ()))
            for wake in wakes:
                wake()

    def close(self) -> None:
        """Stop the thread and close the watch; waiters still waiting time out."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=IDLE_WAIT * 2)
        if self._watch is not None:
            self._watch.close()

    def wait(self, job_id: int, timeout: float, read: Callable[[], Job]) -> Job:
        """``read()`` once it returns the job ended; TimeoutError after ``timeout`` seconds."""
        event = threading.Event()
        self.register(job_id, event.set)
        try:
            deadline = time.monotonic() + timeout
            while not (job := read()).state.terminal:
                left = deadline - time.monotonic()
                if left <= 0 or not event.wait(left):
                    raise _timed_out(job_id, timeout)
                event.clear()
            return job
        finally:
            self.unregister(job_id, event.set)

    async def wait_async(self, job_id: int, timeout: float, read: Callable[[], Job]) -> Job:
        """``wait`` for async code: the event loop is never blocked (reads run in a thread)."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(event.set)

        await asyncio.to_thread(self.register, job_id, wake)
        try:
            async with asyncio.timeout(timeout):
                while not (job := await asyncio.to_thread(read)).state.terminal:
                    await event.wait()
                    event.clear()
            return job
        except TimeoutError:
            raise _timed_out(job_id, timeout) from None
        finally:
            self.unregister(job_id, wake)


def outcome(job: Job) -> JSON:
    """The result of a job that ended: its result if it succeeded, else JobFailedError (dead) or
    JobCancelledError."""
    if job.state is JobState.DEAD:
        raise JobFailedError(job)
    if job.state is JobState.CANCELLED:
        raise JobCancelledError(job)
    return job.result


def _timed_out(job_id: int, timeout: float) -> TimeoutError:
    return TimeoutError(f"job {job_id} has not ended within {timeout:g}s")
