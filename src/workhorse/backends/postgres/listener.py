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


class PollingEndedWatch:
    """Waiters' watch where nothing can LISTEN: each wait sleeps one poll interval and answers
    None, so every waited job is checked (a read of a few rows per interval)."""

    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval

    def wait(self, timeout: float) -> set[int] | None:
        time.sleep(min(self._interval, max(timeout, 0.0)))
        return None

    def close(self) -> None:
        """Nothing to release."""


class PostgresEndedWatch:
    """The LISTEN connection that serves every waiter of a process: each notification carries the
    ids of jobs that ended (``job_finish_many``, cancels). Opened at once, so nothing committed from
    then on is missed; a lost connection is reopened on the next ``wait``, which then answers None
    (anything may have ended while it was down) so that every waited job is checked."""

    def __init__(self, conninfo: str, timeout_cap: float = 5.0) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._backoff = Backoff(cap=timeout_cap)
        self._connect()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            row = self._conn.execute(QUERIES["ended_channel"]).fetchone()
            channel = str(row[0]) if row else "workhorse_ended"
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        return self._conn

    def wait(self, timeout: float) -> set[int] | None:
        try:
            reconnected = self._conn is None or self._conn.closed
            conn = self._connect()
            ids = self._drain(conn, timeout)
        except psycopg.Error as exc:
            delay = self._backoff.next()
            log.warning("waiters' connection lost (%s); reconnecting in %.1fs", exc, delay)
            self.close()
            time.sleep(min(delay, timeout))
            return None
        self._backoff.reset()
        return None if reconnected else ids

    @staticmethod
    def _drain(conn: psycopg.Connection[tuple[object, ...]], timeout: float) -> set[int]:
        """The ids of the first notification within ``timeout`` and of those already queued."""
        ids: set[int] = set()
        for wait in (timeout, 0.0):
            for notify in conn.notifies(timeout=wait, stop_after=None if wait == 0 else 1):
                ids.update(int(part) for part in notify.payload.split(",") if part)
        return ids

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
