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
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from workhorse.backends.base import ErrorRecord
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
PIPELINE_BELOW = 0.02
"""A child is sent its next jobs while it runs one only while recent jobs ran shorter than this
many seconds, and the one it runs has been running for less."""
PIPELINE_DEPTH = 16
"""Jobs sent to a child at most: the one it runs and those queued behind it. Fewer while jobs
are longer: as many as recent jobs would run in ``PIPELINE_BELOW``."""


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

    def take(self, usage: child.Usage) -> None:
        self.cpu_seconds, self.max_rss_bytes = usage.cpu_seconds, usage.max_rss_bytes


@dataclass(slots=True, eq=False)
class _Call:
    """One job's request on its way through the pool."""

    request: child.Request
    meter: Meter
    progress: Callable[[JSON], None]
    reply: asyncio.Future[child.Done | child.Failed | child.OutOfMemory]
    started: Callable[[], None]
    began: float = 0.0
    """When its child's turn to run it came (monotonic)."""
    withdrawn: bool = False
    """Cancelled while queued behind another job in its child; ``acked`` once the child said it
    will not run it."""
    acked: bool = False


@dataclass(slots=True, eq=False)
class _Child:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    exited: asyncio.Future[int]
    calls: deque[_Call] = field(default_factory=deque)
    """Sent and not answered, in order: the first runs, the others wait in the child."""
    outbox: list[bytes] = field(default_factory=list)
    """Messages to write at the end of the loop's turn."""
    sent: int = 0
    draining: bool = False
    """Due for replacement: takes no more jobs, and is stopped once those it has are answered."""
    killed_for_memory: int | None = None
    """The RSS that got the child killed, when it went over its job's memory limit."""
    first: procfs.Sample | None = None
    last: procfs.Sample | None = None
    peak_rss: int = 0
    stopping: bool = False

    @property
    def memory_limit(self) -> int | None:
        return self.calls[0].request.memory_limit if self.calls else None


class ProcessPool:
    """Children of one worker. ``start`` before the worker starts threads, ``open`` on its loop,
    ``run`` jobs, ``close`` at the end (every child ends with it).

    While recent jobs are short (below ``PIPELINE_BELOW``), a child is sent its next job while
    it runs one, so that it goes on at once rather than waiting for the worker's loop to answer
    it; a job queued this way that is cancelled before it starts is withdrawn from its child.
    """

    def __init__(self, app: Workhorse, limits: Limits) -> None:
        self._app = app
        self.limits = limits
        self._server = ForkServer(functools.partial(_serve_child, app))
        self._children: list[_Child] = []
        """Children that take jobs (started, not stopping)."""
        self._waiting: deque[_Call] = deque()
        self._by_pid: dict[int, _Child] = {}
        self._open: set[_Child] = set()
        """Children whose channel is still open (closed when they are stopped, or at the end)."""
        self._counted = 0
        """Children toward the ``processes`` cap: taking jobs, or being started."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._prestart = False
        self._closed = False
        self._posting = False
        self.mean_run: float | None = None
        """Recent mean run time of jobs in children, in seconds (an exponential moving average)."""

    def start(self) -> None:
        """Fork the fork server (before the worker starts threads)."""
        self._server.start()

    async def open(self, *, prestart: bool) -> None:
        """Start watching; with ``prestart``, start every child now rather than on first use."""
        self._background(self._collect_exits(await self._server.exits()))
        self._background(self._watch())
        self._prestart = prestart
        if prestart:
            for _ in range(self.limits.processes):
                await self._replenish()

    async def run(
        self,
        request: child.Request,
        meter: Meter,
        progress: Callable[[JSON], None],
        started: Callable[[], None] = lambda: None,
    ) -> JSON:
        """Run one job in a child; its result, or its error (the task's as ``RemoteError``,
        ``JobMemoryError`` or ``JobCrashedError``). ``started()`` when it is its child's turn to
        run it. Cancelling stops the child, or withdraws the job if it has not started."""
        answer = asyncio.get_running_loop().create_future()
        call = _Call(request, meter, progress, answer, started)
        self._waiting.append(call)
        self._pump()
        try:
            reply = await call.reply
        except asyncio.CancelledError:
            self._abandon(call)
            raise
        return self._settle(call, reply)

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

    # -- placing jobs -------------------------------------------------------------------------

    def _pump(self) -> None:
        """Send waiting jobs to children that can take them; start children while below the
        cap."""
        while self._waiting and (proc := self._taker(self._waiting[0])) is not None:
            self._send(proc, self._waiting.popleft())
        starting = self._counted - len(self._children)
        while len(self._waiting) > starting and self._counted < self.limits.processes:
            if self._closed:
                return
            self._counted += 1
            starting += 1
            self._background(self._add_child())

    def _taker(self, call: _Call) -> _Child | None:
        """An idle child; else, while jobs are short, the one with the fewest jobs queued whose
        running job is short so far."""
        for proc in self._children:
            if not proc.calls and not proc.draining:
                return proc
        if self.mean_run is None or self.mean_run >= PIPELINE_BELOW:
            return None
        depth = min(PIPELINE_DEPTH, 1 + int(PIPELINE_BELOW / max(self.mean_run, 1e-6)))
        now, best = time.monotonic(), None
        for proc in self._children:
            fewer = best is None or len(proc.calls) < len(best.calls)
            if fewer and len(proc.calls) < depth and self._queueable(proc, call, now):
                best = proc
        return best

    @staticmethod
    def _queueable(proc: _Child, call: _Call, now: float) -> bool:
        if proc.draining or not proc.calls:
            return False
        ahead = proc.calls[0]
        same_limit = ahead.request.memory_limit == call.request.memory_limit
        return same_limit and not ahead.withdrawn and now - ahead.began < PIPELINE_BELOW

    def _send(self, proc: _Child, call: _Call) -> None:
        proc.calls.append(call)
        if len(proc.calls) == 1:
            self._new_head(proc)
        proc.sent += 1
        most = self.limits.max_jobs_per_child
        if most is not None and proc.sent >= most:
            proc.draining = True
        self._post(proc, call.request)

    def _post(self, proc: _Child, message: Any) -> None:
        """Write ``message`` to the child at the end of this turn of the loop, with the others
        for it: one write (and one wake-up of the child) for all of them."""
        proc.outbox.append(channel.frame(message))
        if not self._posting:
            self._posting = True
            asyncio.get_running_loop().call_soon(self._deliver)

    def _deliver(self) -> None:
        self._posting = False
        for proc in self._children:
            if proc.outbox:
                proc.writer.write(b"".join(proc.outbox))
                proc.outbox.clear()

    def _abandon(self, call: _Call) -> None:
        """The job's caller gave up on it (cancel, timeout, hand-back): forget it, stop it."""
        if call in self._waiting:
            self._waiting.remove(call)
            return
        proc = next((p for p in self._open if call in p.calls), None)
        if proc is None:
            return
        if proc.calls[0] is call:
            self._meter_from_samples(proc, call)
            self._retire(proc)  # it runs: stop its child
        else:
            call.withdrawn = True
            if not proc.stopping:  # a stopping child runs nothing more
                self._post(proc, child.Withdraw(call.request.job_id))

    def _settle(self, call: _Call, reply: child.Done | child.Failed | child.OutOfMemory) -> JSON:
        call.meter.take(reply.usage)
        if isinstance(reply, child.OutOfMemory):
            limit = human(call.request.memory_limit or 0)
            peak = human(reply.usage.max_rss_bytes or 0)
            raise JobMemoryError(f"an allocation went past the limit (peak {peak}, limit {limit})")
        if isinstance(reply, child.Failed):
            raise RemoteError(reply.error)
        return orjson.loads(reply.result_json)  # type: ignore[no-any-return]

    # -- what children say --------------------------------------------------------------------

    async def _listen(self, proc: _Child) -> None:
        """Read a child's messages until its channel closes."""
        while (message := await channel.read(proc.reader)) is not None:
            if isinstance(message, child.Withdrawn):
                self._withdrawn(proc, message.job_id)
            elif isinstance(message, child.Progress):
                if proc.calls and not proc.calls[0].reply.done():
                    proc.calls[0].progress(message.value)
            elif proc.calls:
                self._answered(proc, proc.calls.popleft(), message)
        await self._closed_channel(proc)

    def _withdrawn(self, proc: _Child, job_id: int) -> None:
        for call in list(proc.calls)[1:]:
            if call.request.job_id == job_id and call.withdrawn:
                proc.calls.remove(call)

    def _answered(self, proc: _Child, call: _Call, reply: Any) -> None:
        if not call.reply.done():
            call.reply.set_result(reply)
        self._ran(reply.usage.wall_seconds)
        if isinstance(reply, child.OutOfMemory):
            self._retire(proc)
            return
        if proc.calls and proc.calls[0].withdrawn:  # withdrawn too late: it may have started
            self._retire(proc)
            return
        proc.draining = proc.draining or self._too_big(proc)
        if proc.calls:
            self._new_head(proc)
        elif proc.draining:
            self._retire(proc)
            return
        self._pump()

    def _ran(self, seconds: float) -> None:
        mean = self.mean_run
        self.mean_run = seconds if mean is None else 0.9 * mean + 0.1 * seconds

    def _new_head(self, proc: _Child) -> None:
        """A job starts in ``proc``: its memory readings start afresh (none is taken now: a
        short job must not pay for one; the watch takes the first)."""
        proc.first = proc.last = None
        proc.peak_rss = 0
        proc.calls[0].began = time.monotonic()
        proc.calls[0].started()

    async def _closed_channel(self, proc: _Child) -> None:
        """The child is gone: its running job fails, the jobs queued behind it go elsewhere."""
        # The first may be a job withdrawn too late (it started): it stays the one that ran.
        calls = list(proc.calls)
        proc.calls.clear()
        # Those behind the first never started: they run elsewhere (unless given up meanwhile).
        behind = [call for call in calls[1:] if not call.withdrawn and not call.reply.done()]
        self._waiting.extendleft(reversed(behind))
        self._retire(proc)
        self._pump()
        if calls and not calls[0].withdrawn and not calls[0].reply.done():
            head = calls[0]
            self._meter_from_samples(proc, head)
            error = await self._died(proc, head)
            if not head.reply.done():
                head.reply.set_exception(error)

    def _too_big(self, proc: _Child) -> bool:
        """Whether a child's memory after a job makes it due for replacement (it is replaced
        once the jobs sent to it are done; replacement by jobs run is counted as they are sent)."""
        most_memory = self.limits.max_memory_per_child
        if most_memory is None:
            return False
        now = procfs.sample(proc.pid)
        return now is None or now.rss_bytes > most_memory

    async def _died(self, proc: _Child, call: _Call) -> Exception:
        """The error for a child whose channel closed while it ran ``call``."""
        if proc.killed_for_memory is not None:
            return _over_limit(proc.killed_for_memory, call.request.memory_limit or 0)
        try:
            status = await asyncio.wait_for(asyncio.shield(proc.exited), EXIT_WAIT)
        except TimeoutError:
            return JobCrashedError(f"the job's process {proc.pid} closed its channel and vanished")
        return JobCrashedError(f"the job's process {describe_exit(status)}")

    def _meter_from_samples(self, proc: _Child, call: _Call) -> None:
        if proc.first is not None and proc.last is not None:
            call.meter.cpu_seconds = proc.last.cpu_seconds - proc.first.cpu_seconds
        call.meter.max_rss_bytes = proc.peak_rss or None

    # -- children -----------------------------------------------------------------------------

    async def _add_child(self) -> None:
        """Start a counted child and give it work."""
        try:
            proc = await self._spawn()
        except JobCrashedError as exc:
            self._counted -= 1
            log.warning("could not start a child process: %s", exc)
            self._fail_waiting(exc)
            return
        except BaseException:
            self._counted -= 1
            raise
        self._children.append(proc)
        self._background(self._listen(proc))
        self._pump()

    def _fail_waiting(self, error: JobCrashedError) -> None:
        """No child can be started: the jobs waiting for one fail, when none runs to take them."""
        if self._counted == 0:
            while self._waiting:
                call = self._waiting.popleft()
                if not call.reply.done():
                    call.reply.set_exception(error)

    async def _replenish(self) -> None:
        """Start a child to wait idle, while below the cap."""
        if self._counted < self.limits.processes and not self._closed:
            self._counted += 1
            await self._add_child()

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
            proc.stopping = proc.draining = True
            self._counted -= 1
            with contextlib.suppress(ValueError):
                self._children.remove(proc)
            self._background(self._stop(proc))
            if self._prestart and not self._closed:
                self._background(self._replenish())
            else:
                self._pump()

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
            for proc in list(self._by_pid.values()):
                if proc.calls:
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
