"""The worker's side of process isolation: leases pre-started children to jobs, enforces the
hard limits, recycles and replaces children.

A job's child is stopped by killing its whole process group: at the job's timeout, on a cancel
or a hand-back (the caller's ``CancelledError``), SIGTERM and, after ``TERM_GRACE``, SIGKILL;
above its memory limit (RSS read every ``WATCH_EVERY``) at once with SIGKILL. The slot is free
as soon as the attempt ends: the kill and the replacement go on in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from workhorse.backends.base import AttemptUsage, ErrorRecord
from workhorse.errors import JobCrashedError, JobMemoryError
from workhorse.sizes import human
from workhorse.types import JSON
from workhorse.worker.processes import channel, child, procfs
from workhorse.worker.processes.forkserver import ForkServer

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.worker")

WATCH_EVERY = 0.05
"""Seconds between two readings of the busy children's memory."""
TERM_GRACE = 0.5
"""Seconds a stopped child has between SIGTERM and SIGKILL."""
EXIT_WAIT = 2.0
"""Seconds to wait for the exit status of a child whose channel closed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """``processes`` children at most; each is replaced after ``max_jobs_per_child`` jobs, or
    once its RSS after a job is above ``max_memory_per_child`` bytes (None: never). Checked by
    ``WorkerConfig``."""

    processes: int
    max_jobs_per_child: int | None = None
    max_memory_per_child: int | None = None


class RemoteError(Exception):
    """A task's error in a child process, as the child recorded it."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(f"{record.type}: {record.message}")
        self.record = record


@dataclass(slots=True)
class Meter:
    """What an attempt in a child consumed, filled in as the pool learns it."""

    cpu_seconds: float | None = None
    max_rss_bytes: int | None = None

    def take(self, usage: AttemptUsage) -> None:
        self.cpu_seconds, self.max_rss_bytes = usage.cpu_seconds, usage.max_rss_bytes


@dataclass(slots=True, eq=False)
class _Child:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    exited: asyncio.Future[int]
    jobs: int = 0
    memory_limit: int | None = None
    killed_for_memory: int | None = None
    """The RSS that got the child killed, when it went over its job's memory limit."""
    first: procfs.Sample | None = None
    last: procfs.Sample | None = None
    peak_rss: int = 0
    stopping: bool = False
    meter: Meter = field(default_factory=Meter)


class ProcessPool:
    """Children of one worker. ``start`` before the worker starts threads, ``open`` on its loop,
    ``run`` jobs, ``close`` at the end (every child ends with it)."""

    def __init__(self, app: Workhorse, limits: Limits) -> None:
        self._app = app
        self.limits = limits
        self._server = ForkServer(functools.partial(_serve_child, app))
        self._idle: asyncio.Queue[_Child] = asyncio.Queue()
        self._busy: set[_Child] = set()
        self._by_pid: dict[int, _Child] = {}
        self._open: set[_Child] = set()
        """Children whose channel is still open (closed when they are stopped, or at the end)."""
        self._counted = 0
        """Children toward the ``processes`` cap: idle, busy, or being started."""
        self._free: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._prestart = False
        self._closed = False

    def start(self) -> None:
        """Fork the fork server (before the worker starts threads)."""
        self._server.start()

    async def open(self, *, prestart: bool) -> None:
        """Start watching; with ``prestart``, start every child now rather than on first use."""
        self._free = asyncio.Semaphore(self.limits.processes)
        self._background(self._collect_exits(await self._server.exits()))
        self._background(self._watch())
        self._prestart = prestart
        if prestart:
            for _ in range(self.limits.processes):
                await self._replenish()

    async def run(
        self, request: child.Request, meter: Meter, progress: Callable[[JSON], None]
    ) -> JSON:
        """Run one job in a child; its result, or its error (the task's as ``RemoteError``,
        ``JobMemoryError`` or ``JobCrashedError``). Cancelling stops the child."""
        assert self._free is not None, "open() the pool first"
        async with self._free:
            proc = await self._lease()
            proc.memory_limit, proc.meter = request.memory_limit, meter
            # No reading here: a short job must not pay for one. The watch takes the first.
            proc.first = proc.last = None
            proc.peak_rss = 0
            self._busy.add(proc)
            try:
                reply = await self._exchange(proc, request, progress)
            except BaseException:
                self._meter_from_samples(proc)
                self._retire(proc)
                raise
            finally:
                self._busy.discard(proc)
            return self._settle(proc, reply)

    async def close(self) -> None:
        """Stop every child and the fork server."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for proc in list(self._by_pid.values()):
            _kill_group(proc.pid, signal.SIGKILL)
        for proc in self._open:
            proc.writer.close()
        self._open.clear()
        self._by_pid.clear()
        self._server.close()
        await asyncio.to_thread(self._server.reap)

    # -- one job ------------------------------------------------------------------------------

    async def _exchange(
        self, proc: _Child, request: child.Request, progress: Callable[[JSON], None]
    ) -> child.Done | child.Failed | child.OutOfMemory:
        proc.writer.write(channel.frame(request))
        await proc.writer.drain()
        while True:
            message = await channel.read(proc.reader)
            if message is None:
                raise await self._died(proc)
            if isinstance(message, child.Progress):
                progress(message.value)
                continue
            return message  # type: ignore[no-any-return]

    def _settle(self, proc: _Child, reply: child.Done | child.Failed | child.OutOfMemory) -> JSON:
        proc.meter.take(reply.usage)
        proc.jobs += 1
        if isinstance(reply, child.OutOfMemory):
            self._retire(proc)
            limit = human(proc.memory_limit or 0)
            peak = human(reply.usage.max_rss_bytes or 0)
            raise JobMemoryError(f"an allocation went past the limit (peak {peak}, limit {limit})")
        self._recycle_or_keep(proc)
        if isinstance(reply, child.Failed):
            raise RemoteError(reply.error)
        return orjson.loads(reply.result_json)  # type: ignore[no-any-return]

    async def _lease(self) -> _Child:
        """An idle child; a new one while below the cap (the caller holds a ``_free`` permit,
        so one is idle, or being started, or may be started)."""
        while True:
            if not self._idle.empty():
                proc = self._idle.get_nowait()
            elif self._counted < self.limits.processes:
                return await self._spawn_counted()
            else:
                try:
                    proc = await asyncio.wait_for(self._idle.get(), 1.0)
                except TimeoutError:
                    continue  # look again: a child that failed to start frees its place
            if not proc.exited.done():
                return proc
            self._retire(proc)  # died while idle

    async def _spawn_counted(self) -> _Child:
        self._counted += 1
        try:
            return await self._spawn()
        except BaseException:
            self._counted -= 1
            raise

    async def _replenish(self) -> None:
        """Start a child to wait idle, while below the cap."""
        if self._counted < self.limits.processes and not self._closed:
            try:
                self._idle.put_nowait(await self._spawn_counted())
            except JobCrashedError as exc:
                log.warning("could not start a child process: %s", exc)

    def _recycle_or_keep(self, proc: _Child) -> None:
        if self._worn_out(proc):
            self._retire(proc)
        else:
            self._idle.put_nowait(proc)

    def _worn_out(self, proc: _Child) -> bool:
        """Whether a child is due for replacement: by its jobs run, or by its memory."""
        most_jobs, most_memory = self.limits.max_jobs_per_child, self.limits.max_memory_per_child
        if most_jobs is not None and proc.jobs >= most_jobs:
            return True
        if most_memory is None:
            return False
        now = procfs.sample(proc.pid)
        return now is None or now.rss_bytes > most_memory

    async def _died(self, proc: _Child) -> Exception:
        """The error for a child whose channel closed while it ran a job."""
        self._meter_from_samples(proc)
        self._retire(proc)
        if proc.killed_for_memory is not None:
            return _over_limit(proc.killed_for_memory, proc.memory_limit or 0)
        try:
            status = await asyncio.wait_for(asyncio.shield(proc.exited), EXIT_WAIT)
        except TimeoutError:
            return JobCrashedError(f"the job's process {proc.pid} closed its channel and vanished")
        return JobCrashedError(f"the job's process {describe_exit(status)}")

    def _meter_from_samples(self, proc: _Child) -> None:
        if proc.first is not None and proc.last is not None:
            proc.meter.cpu_seconds = proc.last.cpu_seconds - proc.first.cpu_seconds
        proc.meter.max_rss_bytes = proc.peak_rss or None

    # -- children -----------------------------------------------------------------------------

    async def _spawn(self) -> _Child:
        if self._closed:
            raise JobCrashedError("the worker's process pool is closed")
        try:
            sock = self._server.spawn()
        except OSError as exc:
            raise JobCrashedError(f"the fork server is gone ({exc})") from exc
        sock.setblocking(False)
        try:
            reader, writer = await asyncio.open_unix_connection(sock=sock)
        except BaseException:
            sock.close()
            raise
        try:
            ready = await channel.read(reader)
        except BaseException:
            writer.close()
            raise
        if not isinstance(ready, child.Ready):
            writer.close()
            raise JobCrashedError("a new process for the job did not start")
        proc = _Child(ready.pid, reader, writer, asyncio.get_running_loop().create_future())
        self._by_pid[proc.pid] = proc
        self._open.add(proc)
        return proc

    def _retire(self, proc: _Child) -> None:
        """Stop a child (SIGTERM, then SIGKILL to its group) in the background."""
        if not proc.stopping:
            proc.stopping = True
            self._counted -= 1
            self._background(self._stop(proc))
            if self._prestart and not self._closed:
                self._background(self._replenish())

    async def _stop(self, proc: _Child) -> None:
        _kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.exited), TERM_GRACE)
        _kill_group(proc.pid, signal.SIGKILL)  # also what the job started, if still there
        proc.writer.close()
        self._open.discard(proc)

    async def _collect_exits(self, exits: asyncio.StreamReader) -> None:
        while (report := await channel.read(exits)) is not None:
            pid, status = report
            proc = self._by_pid.pop(pid, None)
            if proc is not None and not proc.exited.done():
                proc.exited.set_result(status)

    async def _watch(self) -> None:
        """Read the busy children's memory; kill the one above its job's limit."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            for proc in list(self._busy):
                self._look_at(proc)

    def _look_at(self, proc: _Child) -> None:
        now = procfs.sample(proc.pid)
        if now is None or proc.stopping:
            return
        proc.last, proc.peak_rss = now, max(proc.peak_rss, now.rss_bytes)
        if proc.first is None:
            proc.first = now
        limit = proc.memory_limit
        if limit is not None and now.rss_bytes > limit and proc.killed_for_memory is None:
            proc.killed_for_memory = now.rss_bytes
            log.warning("job process %d used %s, above its limit", proc.pid, human(now.rss_bytes))
            _kill_group(proc.pid, signal.SIGKILL)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def describe_exit(status: int) -> str:
    """How a process ended, from its wait status: ``exited with code 3``, ``was killed by
    SIGSEGV``."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"was killed by {name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _over_limit(used: int, limit: int) -> JobMemoryError:
    return JobMemoryError(f"used {human(used)}, limit {human(limit)}")


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _serve_child(app: Workhorse, sock: socket.socket) -> None:
    app.detach_backend()
    child.serve(sock, app)
