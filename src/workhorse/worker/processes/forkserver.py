"""The fork server: a process forked from the worker before it starts threads, which forks the
pool's children on request.

Forking the worker itself once it runs would copy a process with threads (database calls,
listeners) whose locks may be held at that instant; the fork server has one thread, and its
children start as copies of it, with the app and its tasks already imported. Every process here
dies with its parent (``PR_SET_PDEATHSIG``): SIGKILL the worker and the fork server dies, and
with it every child, so no job runs on without a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import select
import signal
import socket
from collections.abc import Callable
from typing import NoReturn

from workhorse.worker.processes import channel

_PR_SET_PDEATHSIG = 1
_REAP_EVERY = 0.05
"""Seconds between two looks for children that ended (their exits are reported to the worker)."""


class ForkServer:
    """Starts children that run ``serve(sock)`` each in a process group of its own, and reports
    how they ended (``exits``: pid and wait status)."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self._serve = serve
        self._requests: socket.socket | None = None
        self._reports: socket.socket | None = None
        self._reports_writer: asyncio.StreamWriter | None = None
        self.pid: int | None = None

    def start(self) -> None:
        """Fork the server: call before the worker starts threads."""
        requests, server_requests = socket.socketpair()
        reports, server_reports = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            requests.close()
            reports.close()
            _run_server(server_requests, server_reports, self._serve)
        server_requests.close()
        server_reports.close()
        self._requests, self._reports, self.pid = requests, reports, pid

    def spawn(self) -> socket.socket:
        """Ask for a child; returns the worker's end of the socket to it."""
        assert self._requests is not None, "start() the fork server first"
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self._requests, [b"+"], [theirs.fileno()])
        finally:
            theirs.close()
        return ours

    async def exits(self) -> asyncio.StreamReader:
        """A stream of ``(pid, wait status)`` messages, one per child that ended."""
        assert self._reports is not None, "start() the fork server first"
        self._reports.setblocking(False)
        # Keep the writer: once collected, it would close the stream.
        reader, self._reports_writer = await asyncio.open_unix_connection(sock=self._reports)
        return reader

    def close(self) -> None:
        """End the fork server, and with it every child (they die with their parent). Call it
        on the loop that read ``exits``; then ``reap``."""
        if self._reports_writer is not None:
            self._reports_writer.close()
        for sock in (self._requests, self._reports):
            if sock is not None:
                sock.close()
        self._requests = self._reports = self._reports_writer = None
        if self.pid is not None:
            _kill(self.pid)

    def reap(self) -> None:
        """Wait for the closed fork server to be gone (blocking, briefly)."""
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent ends (and end now if it has)."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _run_server(
    requests: socket.socket, reports: socket.socket, serve: Callable[[socket.socket], None]
) -> NoReturn:
    code = 0
    try:
        _forget_parent_signals()
        die_with_parent()
        while _serve_one(requests, reports, serve):
            pass
    except BaseException:
        code = 1
    os._exit(code)


def _serve_one(
    requests: socket.socket, reports: socket.socket, serve: Callable[[socket.socket], None]
) -> bool:
    """Start the child asked for, if any, and report the children that ended; False once the
    worker has gone."""
    readable, _, _ = select.select([requests], [], [], _REAP_EVERY)
    if readable:
        message, fds, _, _ = socket.recv_fds(requests, 1, 1)
        if not message:
            return False
        for fd in fds:
            _fork_child(fd, (requests, reports), serve)
    _report_exits(reports)
    return True


def _fork_child(
    fd: int, inherited: tuple[socket.socket, ...], serve: Callable[[socket.socket], None]
) -> None:
    pid = os.fork()
    if pid:
        os.close(fd)
        return
    code = 0
    try:
        os.setpgid(0, 0)  # its own group: a kill reaches the processes the task started too
        die_with_parent()
        _run_as_batch()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the pool stops it first
        for sock in inherited:
            sock.close()
        serve(socket.socket(fileno=fd))
    except BaseException:
        code = 1
    os._exit(code)


def _run_as_batch() -> None:
    """Schedule this process as batch work (``SCHED_BATCH``, same CPU share): waking it to run
    a job then does not preempt the worker that sent the job, which goes on with its loop
    instead of paying a context switch per job."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _report_exits(reports: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        channel.send(reports, (pid, status))


def _forget_parent_signals() -> None:
    """Undo what the worker's event loop set up: its signal handlers and wake-up fd belong to
    the worker, and a signal here must not wake the worker's loop."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Ctrl-C reaches the whole foreground group, and some supervisors SIGTERM every process of
    # a service: the worker then drains, so the server must live on (it dies with the worker).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
