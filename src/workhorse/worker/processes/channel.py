"""Messages between the worker and its children: length-prefixed pickles over a socket.

Both ends are processes of one worker (trusted): pickle carries errors and dataclasses as they
are. Job arguments and results cross as the JSON they already are.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any

_HEADER = struct.Struct("!I")


def send(sock: socket.socket, message: Any) -> None:
    """Write one message (blocking)."""
    sock.sendall(frame(message))


def receive(sock: socket.socket) -> Any | None:
    """Read one message (blocking); None at the end of the stream."""
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    body = _read_exactly(sock, _HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)


async def read(reader: asyncio.StreamReader) -> Any | None:
    """Read one message from a stream; None at the end of the stream (the peer died)."""
    try:
        header = await reader.readexactly(_HEADER.size)
        body = await reader.readexactly(_HEADER.unpack(header)[0])
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return pickle.loads(body)


class Inbox:
    """A child's end of the channel, buffered: every message already there can be taken without
    blocking, so a child sees the worker's withdrawals before it starts its next job."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self.closed = False

    def fill(self, *, block: bool) -> None:
        """Read all the socket holds; with ``block``, wait for some first (or its end)."""
        flags = 0 if block else socket.MSG_DONTWAIT
        while not self.closed:
            try:
                chunk = self._sock.recv(1 << 16, flags)
            except BlockingIOError:
                return
            self.closed = not chunk
            self._buffer += chunk
            flags = socket.MSG_DONTWAIT  # then only what is already there

    def take(self) -> list[Any]:
        """The complete messages read so far, in order."""
        messages = []
        while len(self._buffer) >= _HEADER.size:
            end = _HEADER.size + _HEADER.unpack_from(self._buffer)[0]
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(self._buffer[_HEADER.size : end]))
            del self._buffer[:end]
        return messages


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def frame(message: Any) -> bytes:
    """One message as bytes to write to a stream."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data
