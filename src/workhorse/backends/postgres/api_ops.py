"""PostgreSQL: the HTTP API's operations (API keys, idempotency keys, redrive).

A mixin of :class:`~workhorse.backends.postgres.backend.PostgresBackend`, kept in its own module
so the backend stays readable; it uses the backend's transaction helper, and inserts jobs through
``job_insert_many`` on its own connection so that they share the idempotency record's transaction.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.errors import DatabaseError, InvalidTransitionError

_Q = load_blocks("workhorse.backends.postgres", "queries.sql")

Row = dict[str, Any]


class PostgresApiOps:
    """API keys, idempotency records and redrive over PostgreSQL."""

    # Provided by PostgresBackend.
    def _tx(self, connection: Any = None) -> AbstractContextManager[psycopg.Connection[Row]]:
        raise NotImplementedError

    def _all(self, name: str, params: dict[str, Any]) -> list[Row]:
        raise NotImplementedError

    def job_insert_many(self, params: base.JobInsertManyParams) -> list[base.InsertedJob]:
        raise NotImplementedError

    # -- API keys ----------------------------------------------------------------------------

    def api_key_insert(self, params: base.ApiKeyInsertParams) -> base.ApiKey | None:
        rows = self._all(
            "api_key_insert",
            {
                "prefix": params.prefix,
                "secret_hash": params.secret_hash,
                "tenant": params.tenant,
                "name": params.name,
                "now": params.now,
            },
        )
        return _api_key(rows[0]) if rows else None

    def api_key_get(self, params: base.ApiKeyGetParams) -> base.ApiKey | None:
        rows = self._all("api_key_get", {"prefix": params.prefix})
        return _api_key(rows[0]) if rows else None

    def api_key_list(self, params: base.ApiKeyListParams) -> list[base.ApiKey]:
        rows = self._all("api_key_list", {"include_revoked": params.include_revoked})
        return [_api_key(row) for row in rows]

    def api_key_revoke(self, params: base.ApiKeyRevokeParams) -> base.ApiKey | None:
        values = {"id": params.id, "prefix": params.prefix, "now": params.now}
        rows = self._all("api_key_revoke", values)
        return _api_key(rows[0]) if rows else None

    def api_key_touch(self, params: base.ApiKeyTouchParams) -> None:
        values = {"id": params.id, "now": params.now, "stale_before": params.stale_before}
        with self._tx() as conn:
            conn.execute(_Q["api_key_touch"], values)

    # -- idempotency keys --------------------------------------------------------------------

    def idempotency_insert(self, params: base.IdempotencyInsertParams) -> base.IdempotencyRecord:
        key = {"scope": params.scope, "key": params.key}
        claim = {
            **key,
            "request_hash": params.request_hash,
            "now": params.now,
            "expires_at": params.expires_at,
        }
        with self._tx() as conn:
            if conn.execute(_Q["idempotency_insert"], claim).fetchone() is None:
                row = conn.execute(_Q["idempotency_get"], key).fetchone()
                if row is None:  # pragma: no cover - the conflicting row is committed and live
                    raise DatabaseError(f"idempotency key {params.key!r} vanished mid-claim")
                return _replayed(row["request_hash"], row["job_ids"])
            insert = base.JobInsertManyParams(jobs=params.jobs, now=params.now, connection=conn)
            inserted = self.job_insert_many(insert)
            ids = [job.id for job in inserted]
            conn.execute(_Q["idempotency_set_jobs"], {**key, "job_ids": ids})
        return base.IdempotencyRecord(
            request_hash=params.request_hash, jobs=inserted, replayed=False
        )

    def idempotency_prune(self, params: base.IdempotencyPruneParams) -> int:
        with self._tx() as conn:
            cursor = conn.execute(
                _Q["idempotency_prune"], {"now": params.now, "limit": params.limit}
            )
        return cursor.rowcount

    # -- redrive -----------------------------------------------------------------------------

    def job_redrive(self, params: base.JobRedriveParams) -> int:
        query = _redrive_filter(params)
        if params.dry_run:
            return int(self._all("job_redrive_count", query)[0]["count"])
        retry = params.action is base.RedriveAction.RETRY
        update = _Q["job_redrive_retry"] if retry else _Q["job_redrive_cancel"]
        with self._tx() as conn:
            ids = [row["id"] for row in conn.execute(_Q["job_redrive"], query)]
            if not ids:
                return 0
            try:
                rows = conn.execute(update, {"ids": ids, "now": params.now}).fetchall()
            except psycopg.errors.UniqueViolation:
                raise InvalidTransitionError(
                    "a job with the same unique key was enqueued during the redrive; try again"
                ) from None
            if retry and rows:
                queues = sorted({row["queue"] for row in rows})
                conn.execute(_Q["job_notify"], {"queues": queues})
        return len(rows)


def _replayed(request_hash: str, ids: list[int]) -> base.IdempotencyRecord:
    jobs = [base.InsertedJob(id=job_id, created=False) for job_id in ids]
    return base.IdempotencyRecord(request_hash=request_hash, jobs=jobs, replayed=True)


def _redrive_filter(params: base.JobRedriveParams) -> dict[str, Any]:
    return {
        "action": str(params.action),
        "tenant": params.tenant,
        "queue": params.queue,
        "task": params.task,
        "error_type": params.error_type,
        "finished_after": params.finished_after,
        "finished_before": params.finished_before,
        "limit": params.limit,
    }


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _api_key(row: Row) -> base.ApiKey:
    return base.ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        tenant=row["tenant"],
        name=row["name"],
        created_at=row["created_at"].astimezone(UTC),
        last_used_at=_utc(row["last_used_at"]),
        revoked_at=_utc(row["revoked_at"]),
    )
