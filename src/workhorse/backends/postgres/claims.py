"""The PostgreSQL side of the fair claim: each step one named SQL block in the claim's
transaction. Tenants with quotas are locked with ``FOR UPDATE SKIP LOCKED`` and concurrency keys
with transaction-scoped advisory locks, so racing claimers on any number of hosts never both
spend the same quota, and never wait for each other."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from workhorse.backends import base as b
from workhorse.backends.claiming import OVERFETCH, Candidate, Running, Take, TenantRow
from workhorse.backends.sql import load_blocks

_Q = load_blocks("workhorse.backends.postgres", "queries.sql")

Row = dict[str, Any]


class PostgresClaims:
    """Runs on a connection in autocommit mode: statements stand alone unless ``atomic``."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def _all(self, name: str, params: dict[str, Any]) -> list[Row]:
        return self._conn.execute(_Q[name], params).fetchall()

    def tenants(self, queues: Sequence[str]) -> list[TenantRow]:
        return [tenant_row(row) for row in self._all("claim_tenants", {"queues": list(queues)})]

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        rows = self._all("claim_lock_tenants", {"names": list(names)})
        return {row["name"]: tenant_row(row) for row in rows}

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        rows = self._all("claim_running", {"names": list(names), "now": now})
        return {row["tenant"]: Running(count=row["count"], elapsed=row["elapsed"]) for row in rows}

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        rows = self._all("claim_blocked_keys", {"names": list(names)})
        return {(row["tenant"], row["key"]) for row in rows}

    def take(
        self,
        allocation: dict[str, int],
        queues: Sequence[str],
        *,
        blocked: set[tuple[str, str]],
        exclude: set[int],
        params: b.JobClaimParams,
    ) -> Take:
        blocked_pairs = sorted(blocked)
        query = {
            "tenants": list(allocation),
            "limits": [count + OVERFETCH for count in allocation.values()],
            "slots": list(allocation.values()),
            "queues": list(queues),
            "blocked_tenants": [tenant for tenant, _ in blocked_pairs],
            "blocked_keys": [key for _, key in blocked_pairs],
            "exclude": list(exclude),
            **self._lease(params),
        }
        rows = self._all("claim_take", query)
        if any(row["started"] for row in rows):
            return Take(
                started=[_claimed(row, params.lease_token) for row in rows if row["started"]],
                candidates=[],
            )
        candidates = [
            Candidate(
                id=row["id"],
                tenant=row["tenant"],
                priority=row["priority"],
                run_at=row["run_at"],
                concurrency_key=row["concurrency_key"],
                concurrency_limit=row["concurrency_limit"],
            )
            for row in rows
        ]
        return Take(started=[], candidates=candidates)

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        ordered = sorted(keys)
        query = {"tenants": [t for t, _ in ordered], "keys": [k for _, k in ordered]}
        rows = self._all("claim_running_by_key", query)
        return {(row["tenant"], row["key"]): row["count"] for row in rows}

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]:
        if not ids:
            return []
        rows = self._all("claim_mark_running", {"ids": list(ids), **self._lease(params)})
        return [_claimed(row, params.lease_token) for row in rows]

    @staticmethod
    def _lease(params: b.JobClaimParams) -> dict[str, Any]:
        return {
            "lease_token": params.lease_token,
            "worker_id": params.worker_id,
            "lease_expires_at": params.now + params.lease_for,
            "now": params.now,
        }

    @contextmanager
    def atomic(self) -> Iterator[bool]:
        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            yield False
            return
        with self._conn.transaction():
            yield True

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None:
        names = sorted(tokens)
        query = {"names": names, "tokens": [tokens[n] for n in names], "now": now}
        self._conn.execute(_Q["claim_spend_tokens"], query)


def _claimed(row: Row, lease_token: str) -> b.ClaimedJob:
    return b.ClaimedJob(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=row["args"],
        kwargs=row["kwargs"],
        attempt=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        lease_token=lease_token,
        run_at=row["run_at"],
        trace_context=row["trace_context"],
    )


def tenant_row(row: Row) -> TenantRow:
    """A tenant's row; a tenant with jobs but no row yet (all columns NULL) gets the defaults."""
    if row["weight"] is None:
        return TenantRow(name=row["name"])
    return TenantRow(
        name=row["name"],
        weight=row["weight"],
        max_running=row["max_running"],
        rate=row["rate"],
        burst=row["burst"],
        paused=row["paused"],
        usage=row["usage"],
        usage_at=_utc(row["usage_at"]),
        mean_cost=row["mean_cost"],
        tokens=row["tokens"],
        tokens_at=_utc(row["tokens_at"]),
    )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
