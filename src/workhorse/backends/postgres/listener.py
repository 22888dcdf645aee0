"""LISTEN/NOTIFY wake-ups: an idle worker learns of new jobs within milliseconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import psycopg
from psycopg import sql

from workhorse.backends.postgres.statements import QUERIES
from workhorse.backoff import Backoff

log = logging.getLogger("workhorse.postgres")


class PostgresListener:
    """A dedicated autocommit connection listening on the jobs channel.

    ``wait`` blocks up to ``timeout`` seconds and returns whether a notification for one of the
    queues arrived. A broken connection is reopened on the next ``wait``; meanwhile the worker's
    polling covers the gap.
    """

    def __init__(self, conninfo: str, queues: Sequence[str], timeout_cap: float = 5.0) -> None:
        self._conninfo = conninfo
        self._queues = set(queues)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._backoff = Backoff(cap=timeout_cap)
        self._lost = False
        try:  # listen at once, so nothing committed from now on is missed
            self._connect()
        except psycopg.Error as exc:
            log.warning("cannot listen for new jobs yet (%s); polling meanwhile", exc)
            self._lost = True
            self.close()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            row = self._conn.execute(QUERIES["listen_channel"]).fetchone()
            channel = str(row[0]) if row else "workhorse_jobs"
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        return self._conn

    def wait(self, timeout: float) -> bool:
        """Whether jobs may have arrived: a notification for the queues, or a reconnect (what
        was committed while the connection was down was heard by no one)."""
        try:
            reconnecting = self._conn is None
            conn = self._connect()
            if reconnecting and self._lost:
                self._lost = False
                log.warning("listening for new jobs again")
                return True
            for notify in conn.notifies(timeout=timeout, stop_after=1):
                if notify.payload in self._queues:
                    return True
        except psycopg.Error as exc:
            delay = self._backoff.next()
            log.warning("listener connection lost (%s); polling, reconnecting in %.1fs", exc, delay)
            self._lost = True
            self.close()
            time.sleep(min(delay, timeout))
            return False
        self._backoff.reset()
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
