"""The embedded SQLite backend: the zero-set-up default for one machine.

Limits, stated plainly:

- One writer at a time. Every write takes SQLite's database lock (``BEGIN IMMEDIATE``), so claims,
  completions and enqueues from all processes are serialised; batching keeps that cheap, but
  throughput is bounded by one core's worth of commits.
- No ``SKIP LOCKED`` and no LISTEN/NOTIFY: claims are exclusive because the write lock is, and idle
  workers find new jobs by polling (a cheap read that takes no lock).
- One machine only. WAL mode needs shared memory, so the file must not live on a network share.
- Durability: ``synchronous=NORMAL`` by default survives the crash of any process (a committed
  enqueue is never lost); an OS crash or power cut may lose the last commits. Add
  ``?synchronous=full`` to the URL to fsync every commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from workhorse.backends import base as b
from workhorse.backends.claiming import claim
from workhorse.backends.sql_backend import SqlBackend
from workhorse.backends.sqlite import finish
from workhorse.backends.sqlite.claims import SQLiteClaims
from workhorse.backends.sqlite.files import prepare_file
from workhorse.backends.sqlite.listener import SQLiteEndedWatch, SQLiteListener
from workhorse.backends.sqlite.store import SQLiteStore
from workhorse.errors import ConfigurationError


class SQLiteBackend(SqlBackend[SQLiteStore]):
    """A Backend over one SQLite file, shared safely by threads and processes."""

    def __init__(self, url: str, *, auto_migrate: bool = True, create: bool = True) -> None:
        """``create``: make the file (private to its owner) if it is missing; without it, a
        missing file is a DatabaseError and nothing is created (see ``prepare_file``)."""
        store = SQLiteStore(url)
        prepare_file(store.path, create=create)
        super().__init__(url, store)
        self.path = store.path
        if auto_migrate:
            self.migrate()
        else:
            self.schema_version()  # an unreadable file is a clear error now, not later

    def listener(self, queues: Sequence[str]) -> SQLiteListener:
        """Commits by other connections, seen through ``PRAGMA data_version``."""
        return SQLiteListener(self.path)

    def ended_watch(self) -> SQLiteEndedWatch:
        """The workers' watch on commits: after any commit, any job may have ended."""
        return SQLiteEndedWatch(self.path)

    def job_insert_many(self, params: b.JobInsertManyParams) -> list[b.InsertedJob]:
        if params.connection is not None:
            raise ConfigurationError("transactional enqueue needs the PostgreSQL backend")
        with self._store.transaction() as tx:
            return self._store.insert_in(tx, params.jobs, params.now)

    def job_claim(self, params: b.JobClaimParams) -> list[b.ClaimedJob]:
        """Only when a read (which takes no lock) finds queued work does the claim take the
        write lock: the workers' watch wakes them on every commit to the file, whoever made it,
        and a worker woken with nothing to claim must not queue behind the writers. The front
        of the fair order is read before the lock too (see ``SQLiteClaims``)."""
        if not self.job_poll(b.JobPollParams(queues=params.queues, now=params.now)):
            return []
        return self._store.run_outside(lambda tx: claim(SQLiteClaims(self._store, tx), params))

    def job_finish_many(self, params: b.JobFinishManyParams) -> list[int]:
        return finish.job_finish_many(self._store, params)
