"""Whether the database is reachable, as this process last saw it: the ``workhorse_database_up``
gauge and one log line at each transition (not one per failed call)."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("workhorse.database")


class DatabaseHealth:
    """Up until a call finds the database unreachable; up again at the next call that reaches
    it. Thread-safe: calls report from any thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True
        self._down_since = 0.0
        self._lock = threading.Lock()

    def reached(self) -> None:
        """A call reached the database."""
        if self.up:
            return
        with self._lock:
            if self.up:
                return
            self.up = True
            down_for = time.monotonic() - self._down_since
        log.warning("database %s is reachable again after %.1fs", self.name, down_for)

    def unreachable(self, why: str) -> None:
        """A call could not reach the database."""
        if not self.up:
            return
        with self._lock:
            if not self.up:
                return
            self.up = False
            self._down_since = time.monotonic()
        log.warning("database %s is unreachable: %s", self.name, why)
