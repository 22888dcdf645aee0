"""The loop a child process runs: one job at a time, as the worker's pool asks.

A child runs only code: the worker keeps the lease, the heartbeats and the deadlines, and stops
a child by killing its process group. Requests run in the order they came; each is answered with
exactly one final message (``Done``, ``Failed`` or ``OutOfMemory``), after any number of
``Progress`` messages, unless the worker withdrew it before it started (``Withdraw``, answered
with ``Withdrawn``). The worker may send a request while the previous one runs, so that the child
goes on without waiting for it: before starting a job and before answering one, a child takes
every message already there, so a withdrawal that came in time is always acknowledged before the
answer to the job ahead of the withdrawn one.
"""

from __future__ import annotations

import asyncio
import functools
import os
import resource
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from workhorse import outcomes
from workhorse.backends.base import ErrorRecord
from workhorse.context import JobContext, _current
from workhorse.errors import UnknownTaskError
from workhorse.serialization import dumps
from workhorse.types import JSON
from workhorse.worker.processes import channel, procfs

if TYPE_CHECKING:
    from workhorse.app import Workhorse


class Request(NamedTuple):
    """Run one job: what its task needs, and ``memory_limit`` for the address-space backstop.

    The messages every job sends are named tuples: they pickle and unpickle several times
    faster than dataclasses, which matters next to a short job's run."""

    job_id: int
    attempt: int
    max_attempts: int
    tenant: str
    queue: str
    task: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    worker_id: str
    deadline: datetime | None
    memory_limit: int | None


class Usage(NamedTuple):
    """What a job used in the child: wall and CPU seconds, peak RSS in bytes."""

    wall_seconds: float
    cpu_seconds: float | None
    max_rss_bytes: int | None


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Do not start the job ``job_id`` (the worker no longer wants it run)."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """The job ``job_id`` was withdrawn before it started: it will not run."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Ready:
    """The child is up and waits for requests."""

    pid: int


class Progress(NamedTuple):
    value: JSON


class Done(NamedTuple):
    result_json: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class Failed:
    error: ErrorRecord
    usage: Usage


@dataclass(frozen=True, slots=True)
class OutOfMemory:
    """The task hit the address-space backstop; the child ends after sending this."""

    usage: Usage


ADDRESS_SPACE_HEADROOM = 2
"""The address-space backstop allows the child's size at the job's start plus this many times
the job's memory limit: virtual memory runs well ahead of RSS, and the RSS watch is the limit
that counts; the backstop only stops an allocation too fast for the watch to see."""


def serve(sock: socket.socket, app: Workhorse) -> None:
    """Answer requests until the worker closes the socket, or the task ran out of memory."""
    lock = threading.Lock()
    channel.send(sock, Ready(os.getpid()))
    inbox, queued = channel.Inbox(sock), deque[Request]()
    while not inbox.closed or queued:
        inbox.fill(block=not queued)
        _take(inbox, queued, sock, lock)
        if not queued:
            continue
        reply = _run(queued.popleft(), app, _Reporter(sock, lock))
        inbox.fill(block=False)
        _take(inbox, queued, sock, lock)
        with lock:
            channel.send(sock, reply)
        if isinstance(reply, OutOfMemory):
            return


def _take(
    inbox: channel.Inbox, queued: deque[Request], sock: socket.socket, lock: threading.Lock
) -> None:
    """Queue the requests read so far; drop (and acknowledge) those withdrawn."""
    for message in inbox.take():
        if isinstance(message, Request):
            queued.append(message)
            continue
        withdrawn = [request for request in queued if request.job_id == message.job_id]
        for request in withdrawn:
            queued.remove(request)
        if withdrawn:
            with lock:
                channel.send(sock, Withdrawn(message.job_id))


class _Reporter:
    """Sends progress from any thread of the task."""

    def __init__(self, sock: socket.socket, lock: threading.Lock) -> None:
        self._sock = sock
        self._lock = lock

    def __call__(self, job_id: int, value: JSON) -> None:
        with self._lock:
            channel.send(self._sock, Progress(value))


def _run(request: Request, app: Workhorse, report: _Reporter) -> Done | Failed | OutOfMemory:
    procfs.reset_peak_rss()
    began, (cpu, _) = time.monotonic(), procfs.own_usage()
    _limit_address_space(request.memory_limit)
    try:
        result_json = dumps(_call(request, app, report), "result")
    except MemoryError:
        if request.memory_limit is None:
            raise
        return OutOfMemory(_usage(began, cpu))
    except BaseException as exc:  # the task's own error, whatever it is, fails only the attempt
        return Failed(outcomes.error_record(exc), _usage(began, cpu))
    finally:
        _limit_address_space(None)
    return Done(result_json, _usage(began, cpu))


def _call(request: Request, app: Workhorse, report: _Reporter) -> Any:
    task = app.tasks.get(request.task)
    if task is None:
        raise UnknownTaskError(f"task {request.task!r} is not registered in this worker's app")
    token = _current.set(_context(request, report))
    try:
        if task.is_async:
            return _loop().run_until_complete(task.fn(*request.args, **request.kwargs))
        return task.fn(*request.args, **request.kwargs)
    finally:
        _current.reset(token)


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    """The child's event loop for async tasks, made once: a loop per job would cost more than
    a short job."""
    return asyncio.new_event_loop()


def _context(request: Request, report: _Reporter) -> JobContext:
    return JobContext(
        job_id=request.job_id,
        attempt=request.attempt,
        max_attempts=request.max_attempts,
        tenant=request.tenant,
        queue=request.queue,
        task=request.task,
        worker_id=request.worker_id,
        deadline=request.deadline,
        _report=report,
    )


def _usage(began: float, cpu: float) -> Usage:
    cpu_now, peak = procfs.own_usage()
    return Usage(time.monotonic() - began, cpu_now - cpu, peak)


def _limit_address_space(memory_limit: int | None) -> None:
    """Set (or, with None, lift) the soft address-space limit: the memory backstop."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = hard
    size = procfs.virtual_bytes() if memory_limit is not None else None
    if memory_limit is not None and size is not None:
        wanted = size + ADDRESS_SPACE_HEADROOM * memory_limit
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
    if wanted != soft:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
