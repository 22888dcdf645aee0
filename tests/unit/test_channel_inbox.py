"""A child's inbox: a read without blocking takes every message the socket already holds, so a
withdrawal behind large requests is seen before the child answers the job ahead of it."""

from __future__ import annotations

import socket

from workhorse.worker.processes import channel
from workhorse.worker.processes.child import Withdraw


def test_a_read_without_blocking_takes_every_message_already_there() -> None:
    worker, child = socket.socketpair()
    with worker, child:
        worker.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        child.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        bulky = ["x" * 40_000 for _ in range(4)]  # more than one read's worth
        worker.sendall(b"".join(channel.frame(m) for m in [*bulky, Withdraw(7)]))
        inbox = channel.Inbox(child)
        inbox.fill(block=False)
        assert inbox.take() == [*bulky, Withdraw(7)]
        assert not inbox.closed
        worker.shutdown(socket.SHUT_WR)
        inbox.fill(block=True)
        assert inbox.closed
