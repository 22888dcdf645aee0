"""SQLite: the HTTP API's operations (API keys, idempotency keys, redrive).

A mixin of :class:`~workhorse.backends.sqlite.backend.SQLiteBackend`, kept in its own module so
the backend stays readable; it uses the backend's transaction helpers and job insert.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.clock import at_epoch, from_epoch, to_epoch

_Q = load_blocks("workhorse.backends.sqlite", "queries.sql")


class SQLiteApiOps:
    """API keys, idempotency records and redrive over SQLite."""

    # Provided by SQLiteBackend.
    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _read(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        raise NotImplementedError

    def _insert_in(
        self, conn: sqlite3.Connection, jobs: Sequence[base.NewJob], now: float
    ) -> list[base.InsertedJob]:
        raise NotImplementedError

    # -- API keys ----------------------------------------------------------------------------

    def api_key_insert(self, params: base.ApiKeyInsertParams) -> base.ApiKey | None:
        values = {
            "prefix": params.prefix,
            "secret_hash": params.secret_hash,
            "tenant": params.tenant,
            "name": params.name,
            "now": to_epoch(params.now),
        }
        with self._write() as conn:
            row = conn.execute(_Q["api_key_insert"], values).fetchone()
        return None if row is None else _api_key(row)

    def api_key_get(self, params: base.ApiKeyGetParams) -> base.ApiKey | None:
        rows = self._read("api_key_get", {"prefix": params.prefix})
        return _api_key(rows[0]) if rows else None

    def api_key_list(self, params: base.ApiKeyListParams) -> list[base.ApiKey]:
        rows = self._read("api_key_list", {"include_revoked": params.include_revoked})
        return [_api_key(row) for row in rows]

    def api_key_revoke(self, params: base.ApiKeyRevokeParams) -> base.ApiKey | None:
        values = {"id": params.id, "prefix": params.prefix, "now": to_epoch(params.now)}
        with self._write() as conn:
            row = conn.execute(_Q["api_key_revoke"], values).fetchone()
        return None if row is None else _api_key(row)

    def api_key_touch(self, params: base.ApiKeyTouchParams) -> None:
        values = {
            "id": params.id,
            "now": to_epoch(params.now),
            "stale_before": to_epoch(params.stale_before),
        }
        with self._write() as conn:
            conn.execute(_Q["api_key_touch"], values)

    # -- idempotency keys --------------------------------------------------------------------

    def idempotency_insert(self, params: base.IdempotencyInsertParams) -> base.IdempotencyRecord:
        now = to_epoch(params.now)
        key = {"scope": params.scope, "key": params.key}
        claim = {
            **key,
            "request_hash": params.request_hash,
            "now": now,
            "expires_at": to_epoch(params.expires_at),
        }
        with self._write() as conn:
            if conn.execute(_Q["idempotency_insert"], claim).fetchone() is None:
                row = conn.execute(_Q["idempotency_get"], key).fetchone()
                return _replayed(row["request_hash"], json.loads(row["job_ids"]))
            inserted = self._insert_in(conn, params.jobs, now)
            ids = json.dumps([job.id for job in inserted])
            conn.execute(_Q["idempotency_set_jobs"], {**key, "job_ids": ids})
        return base.IdempotencyRecord(
            request_hash=params.request_hash, jobs=inserted, replayed=False
        )

    def idempotency_prune(self, params: base.IdempotencyPruneParams) -> int:
        values = {"now": to_epoch(params.now), "limit": params.limit}
        with self._write() as conn:
            return conn.execute(_Q["idempotency_prune"], values).rowcount

    # -- redrive -----------------------------------------------------------------------------

    def job_redrive(self, params: base.JobRedriveParams) -> int:
        query = _redrive_filter(params)
        if params.dry_run:
            return int(self._read("job_redrive_count", query)[0][0])
        retry = params.action is base.RedriveAction.RETRY
        update = _Q["job_redrive_retry"] if retry else _Q["job_redrive_cancel"]
        with self._write() as conn:
            ids = [row[0] for row in conn.execute(_Q["job_redrive"], query)]
            if not ids:
                return 0
            values = {"ids": json.dumps(ids), "now": to_epoch(params.now)}
            return conn.execute(update, values).rowcount


def _replayed(request_hash: str, ids: list[int]) -> base.IdempotencyRecord:
    jobs = [base.InsertedJob(id=job_id, created=False) for job_id in ids]
    return base.IdempotencyRecord(request_hash=request_hash, jobs=jobs, replayed=True)


def _redrive_filter(params: base.JobRedriveParams) -> dict[str, Any]:
    after, before = params.finished_after, params.finished_before
    return {
        "action": str(params.action),
        "tenant": params.tenant,
        "queue": params.queue,
        "task": params.task,
        "error_type": params.error_type,
        "finished_after": None if after is None else to_epoch(after),
        "finished_before": None if before is None else to_epoch(before),
        "limit": params.limit,
    }


def _api_key(row: sqlite3.Row) -> base.ApiKey:
    return base.ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        tenant=row["tenant"],
        name=row["name"],
        created_at=at_epoch(row["created_at"]),
        last_used_at=from_epoch(row["last_used_at"]),
        revoked_at=from_epoch(row["revoked_at"]),
    )
