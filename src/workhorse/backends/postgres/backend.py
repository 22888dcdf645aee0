"""The PostgreSQL backend: many workers on many machines, coordinating only through the database.

Claims use ``FOR UPDATE SKIP LOCKED`` over a partial index, so concurrent claimers never wait on
each other and never take the same row; every outcome is conditional on the claim's lease token.
Its hot path is its own: a batch without unique keys is inserted (and its workers woken) in one
statement, a claim without quotas or keys takes and marks jobs in one, and a batch of outcomes
is written with its tenants' usage in one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import timedelta

from workhorse.backends import base as b
from workhorse.backends.claiming import claim
from workhorse.backends.health import DatabaseHealth
from workhorse.backends.ops import schema
from workhorse.backends.postgres import finish, inserts
from workhorse.backends.postgres.claims import RESERVE_FOR, PostgresClaims
from workhorse.backends.postgres.connecting import parse_url
from workhorse.backends.postgres.listener import (
    PollingEndedWatch,
    PostgresEndedWatch,
    PostgresListener,
)
from workhorse.backends.postgres.statements import PostgresTx, caller_connection
from workhorse.backends.postgres.store import PostgresStore
from workhorse.backends.sql_backend import SqlBackend
from workhorse.clock import require_aware, utc_day

USAGE_FOLD_BATCH = 10_000
"""Rows of appended usage folded into the roll-up per transaction (``usage_fold``)."""


class PostgresBackend(SqlBackend[PostgresStore]):
    """A Backend over one PostgreSQL database, safe for any number of processes and hosts."""

    def __init__(
        self, url: str, *, auto_migrate: bool = False, listen_url: str | None = None
    ) -> None:
        """``listen_url`` (default ``$WORKHORSE_LISTEN_URL``) is where workers LISTEN for new
        jobs: a direct connection when ``url`` goes through PgBouncer, or ``none`` to poll.
        Unset, they listen on ``url`` itself, except through PgBouncer (``?pgbouncer=on``),
        where they poll."""
        store = PostgresStore(url)
        super().__init__(url, store)
        self._reserve_until: dict[tuple[str, ...], float] = {}
        """Per set of queues claimed from, until when (``time.monotonic``) claims reserve the
        places they read (``PostgresClaims``)."""
        self.conninfo = store.conninfo
        self.health: DatabaseHealth = store.health
        self.listen_conninfo = _listen_conninfo(
            listen_url or os.environ.get("WORKHORSE_LISTEN_URL"), store
        )
        if auto_migrate:
            self.migrate()
        else:
            schema.refuse_newer(store, self.schema_version())

    def listener(self, queues: Sequence[str]) -> PostgresListener | None:
        """A LISTEN connection that wakes on new jobs in ``queues``; None (poll) when there is
        no URL to listen on."""
        if self.listen_conninfo is None:
            return None
        return PostgresListener(self.listen_conninfo, queues)

    def ended_watch(self) -> PostgresEndedWatch | PollingEndedWatch:
        """A LISTEN connection told the ids of the jobs that end; a poll where there is no URL to
        listen on (a transaction-pooling PgBouncer without a listen URL)."""
        if self.listen_conninfo is None:
            return PollingEndedWatch()
        return PostgresEndedWatch(self.listen_conninfo)

    def job_insert_many(self, params: b.JobInsertManyParams) -> list[b.InsertedJob]:
        require_aware(params.now)
        for job in params.jobs:
            require_aware(job.run_at)
        if not params.jobs:
            return []
        if any(job.linked for job in params.jobs):
            return self._insert_linked(params)
        if params.connection is not None:
            return inserts.insert(caller_connection(params.connection), params.jobs, params.now)
        return self._store.run(lambda tx: inserts.insert(tx, params.jobs, params.now))

    def _insert_linked(self, params: b.JobInsertManyParams) -> list[b.InsertedJob]:
        """Jobs with parents: inserted and linked in one transaction (the caller's, if given)."""
        if params.connection is None:
            return self._store.run(lambda tx: self._linked_in(tx, params))
        return self._linked_in(caller_connection(params.connection), params)

    def _linked_in(self, tx: PostgresTx, params: b.JobInsertManyParams) -> list[b.InsertedJob]:
        with tx.atomic():
            return self._store.insert_in(tx, params.jobs, params.now)

    def job_claim(self, params: b.JobClaimParams) -> list[b.ClaimedJob]:
        """Claims reserve the places they read for ``RESERVE_FOR`` seconds after one met another
        claimer at a full front, and stop at a claim whose reads of the front all come back
        short: a lone claimer, or claimers of fewer tenants than a claim reads, never pay for
        reserving."""
        queues = tuple(params.queues)

        def claim_in(tx: PostgresTx) -> list[b.ClaimedJob]:
            reserve = time.monotonic() < self._reserve_until.get(queues, 0.0)
            store = PostgresClaims(tx, reserve=reserve)
            claimed = claim(store, params)
            if not store.crowded:
                self._reserve_until.pop(queues, None)
            elif store.collided:
                self._reserve_until[queues] = time.monotonic() + RESERVE_FOR
            return claimed

        return self._store.run(claim_in)

    def job_finish_many(self, params: b.JobFinishManyParams) -> list[int]:
        return finish.job_finish_many(self._store, params)

    def job_history_rotate(self, params: b.JobHistoryParams) -> b.JobHistoryRotation:
        """Ended jobs are kept in a partition per UTC day of their end: the days wholly before
        ``finished_before``'s are dropped (a catalog change, however many jobs they held), then
        the days from today to ``ahead`` days after are created where missing, the counts of
        ended jobs the statements appended are summed (see ``job_history_compact``), and the
        usage the finishes appended is folded into the hourly roll-up (``usage_fold``)."""
        before = utc_day(params.finished_before)
        dropped = []
        while day := self._store.write("job_history_rotate", {"before": before}):
            dropped.extend(day)
        today = utc_day(params.now)
        last = today + timedelta(days=params.ahead)
        self._store.write("job_history_prepare", {"first": today, "last": last})
        self._store.write("job_history_compact")
        self.usage_fold()
        return b.JobHistoryRotation(days=len(dropped), jobs=sum(row["jobs"] for row in dropped))

    def usage_fold(self, batch: int = USAGE_FOLD_BATCH) -> int:
        """Fold the usage the finishes appended into the hourly roll-up, ``batch`` rows per
        transaction, until none is left; returns how many rows were folded."""
        folded = 0
        while True:
            (row,) = self._store.write("usage_fold", {"limit": batch})
            moved = int(row["moved"])
            folded += moved
            if moved < batch:
                return folded

    def places_vacuum(self) -> None:
        self._store.write("places_vacuum")


def _listen_conninfo(listen_url: str | None, store: PostgresStore) -> str | None:
    """The connection string to LISTEN on, or None to poll."""
    if listen_url is None or not listen_url.strip():
        return None if store.settings.pgbouncer else store.conninfo
    if listen_url.strip().lower() == "none":
        return None
    return parse_url(listen_url).conninfo
