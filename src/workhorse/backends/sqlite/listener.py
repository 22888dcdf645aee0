"""Wake-ups without notifications: SQLite tells a connection whether anyone else committed."""

from __future__ import annotations

import sqlite3
import time

CHECK_EVERY = 0.005
"""Seconds between checks while the database is in use: ready → start latency is about half of
it."""
CHECK_EVERY_IDLE = 0.05
"""Seconds between checks once nothing was committed for ``IDLE_AFTER`` seconds."""
IDLE_AFTER = 10.0
WAITERS_CHECK_EVERY = 0.001
"""Seconds between checks for waiters (``result()``): what waiting adds is about half of it."""


class SQLiteListener:
    """A connection of its own watching ``PRAGMA data_version``, which changes whenever another
    connection (in this process or another) commits: a job enqueued, promoted, released or
    retried. Each check is a read of the database header, without locks; a change means new jobs
    may be claimable, and the claim's own lock-free check tells whether they are in the worker's
    queues."""

    def __init__(self, path: str, check_every: float = CHECK_EVERY) -> None:
        self._check_every = check_every
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False
        )
        self._version = self._read()
        self._changed_at = time.monotonic()

    def _read(self) -> int:
        if self._conn is None:
            return -1
        try:
            row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return -1  # unreadable for now: the worker's polling covers the gap
        return int(row[0])

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            now = time.monotonic()
            if version != self._version:
                self._version = version
                self._changed_at = now
                return True
            left = deadline - now
            if left <= 0:
                return False
            idle = now - self._changed_at > IDLE_AFTER
            time.sleep(min(CHECK_EVERY_IDLE if idle else self._check_every, left))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SQLiteEndedWatch:
    """Waiters' wake-ups: the same watch on ``PRAGMA data_version`` as idle workers'. SQLite
    cannot say which jobs a commit ended, so after any commit every waited job is checked (one
    read for all of them)."""

    def __init__(self, path: str) -> None:
        self._commits = SQLiteListener(path, WAITERS_CHECK_EVERY)

    def wait(self, timeout: float) -> frozenset[int] | None:
        return None if self._commits.wait(timeout) else frozenset()

    def close(self) -> None:
        self._commits.close()
