"""Wake-ups from the backend's listener (LISTEN/NOTIFY, SQLite's data version) for the fetcher."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

from workhorse.backends import base as b

WAIT = 0.1
"""Seconds one wait of the listener lasts: how long a worker's stop waits for the thread (ten
empty waits a second cost an idle worker nothing it would notice)."""


class Listening:
    """While entered, calls ``wake`` whenever ``listener`` reports that new jobs may be there.

    ``Listener.wait`` blocks, so it runs on a thread of its own. Leaving stops the thread, which
    closes the listener; it waits for the thread at most ``join_timeout`` seconds (one wait lasts
    ``WAIT`` seconds, a reconnect longer), and the thread is a daemon, so it never holds up an exit.
    """

    def __init__(
        self, listener: b.Listener, wake: Callable[[], None], *, join_timeout: float = 2.0
    ) -> None:
        self._listener = listener
        self._wake = wake
        self._join_timeout = join_timeout
        self._on = True
        self._thread = threading.Thread(target=self._listen, name="workhorse-listen", daemon=True)

    async def __aenter__(self) -> Listening:
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._on = False
        await asyncio.to_thread(self._thread.join, self._join_timeout)

    def _listen(self) -> None:
        try:
            while self._on:
                if self._listener.wait(WAIT):
                    self._wake()
        finally:
            self._listener.close()
