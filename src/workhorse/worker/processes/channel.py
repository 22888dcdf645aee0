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
