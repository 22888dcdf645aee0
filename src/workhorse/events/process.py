"""A dispatcher in a process of its own: ``workhorse dispatch``, started and kept running by a
worker or by ``workhorse serve``.

Delivering an event costs CPU (an HTTP request, a broker publish, their bookkeeping) of the
order of a short job's. Inside a worker that CPU and the GIL come out of the jobs' share; in a
child process the operating system can give it a core of its own. The child gets the database URL
through its environment (never its command line, which every user of the machine can read) and
stops when its parent is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from workhorse.backoff import Backoff

log = logging.getLogger("workhorse.events")

STOP_WAIT = 15.0
"""Seconds a stopping child has to finish its round (webhook sends time out after 10 s) before
it is killed."""
HEALTHY_RUN = 300.0
"""Seconds a child must have run for its exit to restart the backoff from its first step."""
WANTED_EVERY = 5.0
"""Seconds between checks whether any destination exists, before the child is started."""
NICE = 10
"""How much lower the child's CPU priority is than its parent's. On a machine with a core to
spare this changes nothing; on a busy one the jobs come first, and the outbox waits for the CPU
they leave (it grows, and drains when the load eases)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchCommand:
    """How to start ``workhorse dispatch`` as a child of this process."""

    database_url: str
    log_level: str = "warning"
    log_format: str = "auto"
    nice: int = NICE
    """Added to the parent's niceness for the child, right after it starts."""

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "workhorse",
            "dispatch",
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            self.log_level,
            "--log-format",
            self.log_format,
        ]

    def env(self) -> dict[str, str]:
        return {**os.environ, "WORKHORSE_DATABASE_URL": self.database_url}


class DispatchProcess:
    """Keeps one dispatcher child running until cancelled, then stops it (SIGTERM, then SIGKILL
    after ``STOP_WAIT``). With ``wanted``, the child starts only once it says so (polled): a
    worker of a deployment without destinations starts nothing."""

    def __init__(
        self,
        command: DispatchCommand,
        *,
        wanted: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._command = command
        self._wanted = wanted
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def run(self) -> None:
        try:
            await self._until_wanted()
            backoff = Backoff(base=1.0, cap=30.0)
            while True:
                started = time.monotonic()
                code = await self._run_once()
                if time.monotonic() - started >= HEALTHY_RUN:
                    backoff.reset()  # a crash after a long run is a first crash again
                delay = backoff.next()
                log.warning("event dispatcher exited with %s; restarting in %.1fs", code, delay)
                await asyncio.sleep(delay)
        finally:
            await self._stop()

    async def _until_wanted(self) -> None:
        wanted = self._wanted
        while wanted is not None and not await _ask(wanted):
            await asyncio.sleep(WANTED_EVERY)

    async def _run_once(self) -> int:
        """Start the child and wait for its exit status (-1: it could not start)."""
        # A process group of its own: a Ctrl-C in a terminal reaches the parent only, which stops
        # the child in its turn.
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._command.argv(), env=self._command.env(), process_group=0
            )
        except OSError as exc:  # no process slot, no memory: not a reason to end the caller
            log.warning("cannot start the event dispatcher (%s)", exc)
            return -1
        _renice(self._proc.pid, self._command.nice)
        log.info("started event dispatcher pid %d", self._proc.pid)
        return await self._proc.wait()

    async def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_WAIT):
                await proc.wait()
        except TimeoutError:
            log.error("event dispatcher pid %d did not stop; killing it", proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _ask(wanted: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await wanted()
    except Exception as exc:  # the database may be down: ask again later
        log.warning("cannot tell whether events need dispatching (%s)", exc)
        return False


def _renice(pid: int, nice: int) -> None:
    """Lower the child's priority at once, so that its start (imports: half a second of CPU)
    runs at it too; ``--nice`` would apply only once they are done."""
    with contextlib.suppress(OSError):  # it may have exited already
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + nice)
