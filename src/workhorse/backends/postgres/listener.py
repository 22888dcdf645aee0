"""LISTEN/NOTIFY wake-ups: an idle worker learns of new jobs within milliseconds."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg

log = logging.getLogger("workhorse.postgres")

CHANNEL = "workhorse_jobs"


class PostgresListener:
    """A dedicated autocommit connection listening on the jobs channel.

    ``wait`` blocks up to ``timeout`` seconds and returns whether a notification for one of the
    queues arrived. A broken connection is reopened on the next ``wait``; meanwhile the worker's
    polling covers the gap.
    """

    def __init__(self, conninfo: str, queues: Sequence[str]) -> None:
        self._conninfo = conninfo
        self._queues = set(queues)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def wait(self, timeout: float) -> bool:
        try:
            conn = self._connect()
            for notify in conn.notifies(timeout=timeout, stop_after=1):
                if notify.payload in self._queues:
                    return True
        except psycopg.Error as exc:
            log.warning("listener connection lost (%s); polling until it is back", exc)
            self.close()
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
