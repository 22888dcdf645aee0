"""The SQLite side of the fair claim: each step one named SQL block; the front is read before
the claim's ``BEGIN IMMEDIATE`` transaction, and the rest runs inside it (``atomic``). SQLite's
single write lock already serialises claimers, so locking tenants and concurrency keys is a
plain read here. ``take`` reads the tenants' candidate windows, one statement per queue and
window size (``claim_take_candidates`` in queries.sql), whatever the number of tenants, and
marks the chosen jobs running in one more."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.claiming import (
    Candidate,
    Place,
    Running,
    Settled,
    Take,
    TenantRow,
    take_in_steps,
)
from workhorse.backends.sqlite.store import SQLiteStore
from workhorse.backends.sqlite.values import VALUES
from workhorse.backends.store import Row, Tx
from workhorse.clock import to_epoch


class SQLiteClaims:
    front_in_transaction = False
    """The claim's transaction is ``BEGIN IMMEDIATE``, the write lock, which every other writer
    waits for: the front is read before it (a WAL read takes no lock), and with it the claim's
    per-tenant work that needs no lock (the places' rows made into objects). Another claim may
    settle those places meanwhile; what this one then writes counts one charge of theirs fewer,
    which the next claim's read of their tenants' usage corrects. Quotas, keys and the jobs
    themselves are read again under the lock."""

    def __init__(self, store: SQLiteStore, tx: Tx) -> None:
        self._store = store
        self._tx = tx

    def places(
        self, queues: Sequence[str], front: int, now: datetime, after: tuple[float, str, str]
    ) -> list[Place]:
        found: list[Row] = []
        for queue in queues:
            query = {
                "queue": queue,
                "front": front + 1,  # (after's own place may be among them, and is left out)
                "now": to_epoch(now),
                "after_place": after[0],
                "after_tenant": after[1],
            }
            found.extend(self._tx.all("claim_places", query))
        found.sort(key=_order)
        found = [row for row in found if _order(row) > after][:front]
        running = self.running(sorted({row["name"] for row in found}), now)
        idle = Running(count=0, elapsed=0.0)
        return [rows.place(row, VALUES, running.get(row["name"], idle)) for row in found]

    def places_settle(self, settled: Sequence[Settled]) -> list[Settled]:
        """No enqueue or other claim runs beside a claim (one writer): a drained place can go
        at once, and none is skipped."""
        emptied = [[s.queue, s.tenant] for s in settled if s.emptied]
        if emptied:
            self._tx.count("claim_places_settle_drop", {"places": VALUES.array(emptied)})
        if settled:
            entries = [[s.queue, s.tenant, s.place, _opt_epoch(s.held_until)] for s in settled]
            self._tx.count("claim_places_settle_set", {"places": VALUES.array(entries)})
        return []

    def places_recheck(self, settled: Sequence[Settled]) -> None:
        """``places_settle`` skips no place, so no claim calls this; it does what the settle
        does to a drained place."""
        places = [[s.queue, s.tenant] for s in settled]
        self._tx.count("claim_places_recheck", {"places": VALUES.array(places)})

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        found = self._tx.all("claim_lock_tenants", {"names": VALUES.array(names)})
        return {row["name"]: rows.tenant_row(row, VALUES) for row in found}

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        query = {"names": VALUES.array(names), "now": to_epoch(now)}
        found = self._tx.all("claim_running", query)
        return {row["tenant"]: Running(count=row["count"], elapsed=row["elapsed"]) for row in found}

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        found = self._tx.all("claim_blocked_keys", {"names": VALUES.array(names)})
        return {(row["tenant"], row["key"]) for row in found}

    def take(
        self,
        allocation: dict[str, int],
        queues: Sequence[str],
        *,
        blocked: set[tuple[str, str]],
        exclude: set[int],
        params: b.JobClaimParams,
        overfetch: int = 0,
    ) -> Take:
        limits = {name: count + overfetch for name, count in allocation.items()}
        found = self._candidates(limits, queues, blocked=blocked, exclude=exclude)
        return take_in_steps(self, found, allocation, params)

    def _candidates(
        self,
        limits: dict[str, int],
        queues: Sequence[str],
        *,
        blocked: set[tuple[str, str]],
        exclude: set[int],
    ) -> list[Candidate]:
        """Each tenant's window of its best ``limits[tenant]`` jobs in each queue: one statement
        per queue and distinct window size (a claim's windows take a few sizes)."""
        by_limit: dict[int, list[str]] = defaultdict(list)
        for tenant, limit in limits.items():
            by_limit[limit].append(tenant)
        shared = {
            "exclude": VALUES.array(sorted(exclude)),
            "blocked": VALUES.array(sorted([tenant, key] for tenant, key in blocked)),
        }
        found: list[Candidate] = []
        for queue in queues:
            for limit, tenants in by_limit.items():
                query = shared | {"queue": queue, "limit": limit, "tenants": VALUES.array(tenants)}
                window = self._tx.all("claim_take_candidates", query)
                found.extend(rows.candidate(row, VALUES) for row in window)
        return found

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        counts = {}
        for tenant, key in keys:
            row = self._tx.one("claim_running_by_key", {"tenant": tenant, "key": key})
            counts[(tenant, key)] = row["count"] if row else 0
        return counts

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]:
        if not ids:
            return []
        found = self._tx.all("claim_mark_running", {"ids": VALUES.array(ids), **_lease(params)})
        return [rows.claimed(row, VALUES, params.lease_token) for row in found]

    @contextmanager
    def atomic(self) -> Iterator[bool]:
        """The write lock, from the take to the settle (``BEGIN IMMEDIATE``)."""
        with self._store.writing() as opened:
            yield opened

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None:
        for name, value in tokens.items():
            query = {"name": name, "tokens": value, "now": to_epoch(now)}
            self._tx.count("claim_spend_tokens", query)


def _lease(params: b.JobClaimParams) -> dict[str, Any]:
    now = to_epoch(params.now)
    return {
        "lease_token": params.lease_token,
        "worker_id": params.worker_id,
        "lease_expires_at": now + params.lease_for.total_seconds(),
        "now": now,
    }


def _opt_epoch(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


def _order(row: Row) -> tuple[float, str, str]:
    """A place's position in the fair order (``Place.order``)."""
    return (row["place"], row["name"], row["queue"])
