"""The SQLite side of the fair claim: each step one named SQL block, inside the claim's
``BEGIN IMMEDIATE`` transaction. SQLite's single write lock already serialises claimers, so
locking tenants and concurrency keys is a no-op here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from workhorse.backends import base as b
from workhorse.backends.claiming import (
    OVERFETCH,
    Candidate,
    Running,
    Take,
    TenantRow,
    take_in_steps,
)
from workhorse.backends.sql import load_blocks
from workhorse.clock import at_epoch, from_epoch, to_epoch
from workhorse.serialization import loads
from workhorse.types import JSON

_Q = load_blocks("workhorse.backends.sqlite", "queries.sql")


class SQLiteClaims:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def tenants(self, queues: Sequence[str]) -> list[TenantRow]:
        query = {"queues": json.dumps(list(queues))}
        return [tenant_row(row) for row in self._conn.execute(_Q["claim_tenants"], query)]

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        """The write lock already excludes other claimers: just read the rows again."""
        query = {"names": json.dumps(list(names))}
        return {
            row["name"]: tenant_row(row)
            for row in self._conn.execute(_Q["claim_lock_tenants"], query)
        }

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        query = {"names": json.dumps(list(names)), "now": to_epoch(now)}
        rows = self._conn.execute(_Q["claim_running"], query)
        return {row["tenant"]: Running(count=row["count"], elapsed=row["elapsed"]) for row in rows}

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        rows = self._conn.execute(_Q["claim_blocked_keys"], {"names": json.dumps(list(names))})
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
        limits = {name: count + OVERFETCH for name, count in allocation.items()}
        if len(queues) == 1 and not self._keyed_ahead(limits, queues[0], blocked, exclude):
            started = self._take_queue(allocation, queues[0], blocked, exclude, params)
            return Take(started=started, candidates=[])
        found = self._candidates(limits, queues, blocked=blocked, exclude=exclude)
        return take_in_steps(self, found, allocation, params)

    def _keyed_ahead(
        self, limits: dict[str, int], queue: str, blocked: set[tuple[str, str]], exclude: set[int]
    ) -> bool:
        return any(
            self._conn.execute(
                _Q["claim_take_keyed_ahead"], _window(tenant, queue, limit, blocked, exclude)
            ).fetchone()[0]
            for tenant, limit in limits.items()
        )

    def _take_queue(
        self,
        allocation: dict[str, int],
        queue: str,
        blocked: set[tuple[str, str]],
        exclude: set[int],
        params: b.JobClaimParams,
    ) -> list[b.ClaimedJob]:
        """One queue, no concurrency key ahead: each tenant's best jobs marked running at once."""
        now = to_epoch(params.now)
        lease = {
            "lease_token": params.lease_token,
            "worker_id": params.worker_id,
            "lease_expires_at": now + params.lease_for.total_seconds(),
            "now": now,
        }
        rows: list[sqlite3.Row] = []
        for tenant, slots in allocation.items():
            query = _window(tenant, queue, slots, blocked, exclude) | lease
            rows.extend(self._conn.execute(_Q["claim_take_queue"], query))
        rows.sort(key=lambda row: (-row["priority"], row["run_at"], row["id"]))
        return [claimed(row, params.lease_token) for row in rows]

    def _candidates(
        self,
        limits: dict[str, int],
        queues: Sequence[str],
        *,
        blocked: set[tuple[str, str]],
        exclude: set[int],
    ) -> list[Candidate]:
        found: list[Candidate] = []
        for tenant, limit in limits.items():
            for queue in queues:
                query = _window(tenant, queue, limit, blocked, exclude)
                rows = self._conn.execute(_Q["claim_take_candidates"], query)
                found.extend(_candidate(row) for row in rows)
        return found

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        counts = {}
        for tenant, key in keys:
            row = self._conn.execute(_Q["claim_running_by_key"], {"tenant": tenant, "key": key})
            counts[(tenant, key)] = row.fetchone()[0]
        return counts

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]:
        if not ids:
            return []
        now = to_epoch(params.now)
        query = {
            "ids": json.dumps(list(ids)),
            "lease_token": params.lease_token,
            "worker_id": params.worker_id,
            "lease_expires_at": now + params.lease_for.total_seconds(),
            "now": now,
        }
        rows = self._conn.execute(_Q["claim_mark_running"], query).fetchall()
        return [claimed(row, params.lease_token) for row in rows]

    @contextmanager
    def atomic(self) -> Iterator[bool]:
        """The claim runs in one ``BEGIN IMMEDIATE`` transaction already."""
        yield False

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None:
        for name, value in tokens.items():
            query = {"name": name, "tokens": value, "now": to_epoch(now)}
            self._conn.execute(_Q["claim_spend_tokens"], query)


def _window(
    tenant: str, queue: str, limit: int, blocked: set[tuple[str, str]], exclude: set[int]
) -> dict[str, Any]:
    """Parameters naming a tenant's first ``limit`` queued jobs in ``queue``, without the jobs
    of its ``blocked`` keys and the ids in ``exclude``."""
    return {
        "tenant": tenant,
        "queue": queue,
        "limit": limit,
        "blocked": json.dumps(sorted(key for owner, key in blocked if owner == tenant)),
        "exclude": json.dumps(sorted(exclude)),
    }


def tenant_row(row: sqlite3.Row) -> TenantRow:
    """A tenant's row; a tenant with jobs but no row yet (all columns NULL) gets the defaults."""
    if row["weight"] is None:
        return TenantRow(name=row["name"])
    return TenantRow(
        name=row["name"],
        weight=row["weight"],
        max_running=row["max_running"],
        rate=row["rate"],
        burst=row["burst"],
        paused=bool(row["paused"]),
        usage=row["usage"],
        usage_at=from_epoch(row["usage_at"]),
        mean_cost=row["mean_cost"],
        tokens=row["tokens"],
        tokens_at=from_epoch(row["tokens_at"]),
    )


def claimed(row: sqlite3.Row, token: str) -> b.ClaimedJob:
    return b.ClaimedJob(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=cast("list[JSON]", loads(row["args"])),
        kwargs=cast("dict[str, JSON]", loads(row["kwargs"])),
        attempt=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        lease_token=token,
        run_at=at_epoch(row["run_at"]),
        trace_context=row["trace_context"],
    )


def _candidate(row: sqlite3.Row) -> Candidate:
    return Candidate(
        id=row["id"],
        tenant=row["tenant"],
        priority=row["priority"],
        run_at=at_epoch(row["run_at"]),
        concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"],
    )
