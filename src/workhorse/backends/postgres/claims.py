"""The PostgreSQL side of the fair claim: each step one named SQL block in the claim's
transaction. Tenants with quotas are locked with ``FOR UPDATE SKIP LOCKED``, and concurrency keys
(and, where many tenants wait, the places a claim reads) with transaction-scoped advisory locks
taken without waiting, so racing claimers on any number of hosts never both spend the same quota,
serve different tenants while there are enough, and never wait for each other."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.claiming import Place, Running, Settled, Take, TenantRow
from workhorse.backends.postgres.statements import PostgresTx
from workhorse.backends.postgres.values import VALUES, array_literal

CLAIM_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
"""The claim's statements run their prepared generic plans instead of being planned again for
every claim (which, for the take of one job, cost a third of the statement; for the front's read,
a third of it too). Their parameters are arrays whose values never change which plan is best,
and the plans are the same nested loops of index probes. The one parameter that would, the
front's size, is written so that no plan can depend on it (see ``claim_places``).

The claim's commit still waits for its flush (to the disk and to a synchronous standby): a claim
lost in a failover would put jobs back in the queue that a worker is running, to run twice
without any attempt having been lost."""


FRONT_LOCKS = 64
"""Places a claim reserves at most (``claim_places_reserving``: one advisory lock each, held
until the claim's transaction ends): PostgreSQL's default ``max_locks_per_transaction``, what the
shared lock table keeps per connection. A claim of more jobs (its front is its limit + 8)
reserves this many and reads the rest among the places other claimers reserved."""

FRONT_REACH = 8
"""How far a claim reads for places to reserve: this many times its front. Claimers beyond
that many at the same front read places others reserved (their jobs are still taken with SKIP
LOCKED: no job is taken twice)."""


RESERVE_FOR = 10.0
"""Seconds a worker's claims reserve the places they read after a claim met another claimer at
a full front (``PostgresBackend.job_claim``)."""


class PostgresClaims:
    """Runs on a connection in autocommit mode: statements stand alone unless ``atomic``.

    ``reserve``: read the front with ``claim_places_reserving``, so that claimers at once serve
    different tenants. That pays only where another claimer reads the same front and the order
    holds more places than a claim reads: with fewer, every claimer reads every place whatever it
    reserves, and the reserving read costs more (75 µs more per read at 10 tenants, 110 µs at
    10,000, in one process). The caller decides from what its last claims found (``crowded``,
    ``collided``)."""

    front_in_transaction = True
    """The front's read locks no row, and in the claim's transaction it runs its generic plan
    (``CLAIM_SETTINGS``) at no extra round trip, and keeps its reservations until the claim
    commits; only a claim that finds no place at all pays a BEGIN and a COMMIT more (idle
    workers poll with ``job_poll`` first)."""

    def __init__(self, tx: PostgresTx, *, reserve: bool = False) -> None:
        self._tx = tx
        self._reserve = reserve
        self.crowded = False
        """Whether a read of the front found as many places as it asked for."""
        self.collided = False
        """Whether the claim met another claimer: a tenant given slots whose jobs the take did
        not find (``Settled.vanished``), or a place the settle found locked."""

    def places(
        self, queues: Sequence[str], front: int, now: datetime, after: tuple[float, str, str]
    ) -> list[Place]:
        query = {
            "queues": list(queues),
            "front": front,
            "now": now,
            "after_place": after[0],
            "after_tenant": after[1],
            "after_queue": after[2],
        }
        if self._reserve:
            query |= {"locks": min(front + 1, FRONT_LOCKS), "reach": (front + 1) * FRONT_REACH}
        found = self._tx.built(
            "claim_places_reserving" if self._reserve else "claim_places", query, _place
        )
        self.crowded |= len(found) >= front
        return found

    def places_settle(self, settled: Sequence[Settled]) -> list[Settled]:
        """One statement; it answers with the places it skipped, locked, whose tenants this
        claim took jobs from."""
        if not settled:
            return []
        query = {
            "queues": array_literal(s.queue for s in settled),
            "tenants": array_literal(s.tenant for s in settled),
            "arrivals": array_literal(s.arrivals for s in settled),
            "emptied": array_literal(s.emptied for s in settled),
            "vanished": array_literal(s.vanished for s in settled),
            "places": array_literal(s.place for s in settled),
            "held": array_literal(s.held_until for s in settled),
            "holding": array_literal(sorted({s.tenant for s in settled if s.quota_held})),
        }
        skipped = {
            (row["queue"], row["tenant"]) for row in self._tx.all("claim_places_settle", query)
        }
        self.collided |= bool(skipped) or any(s.vanished for s in settled)
        return [s for s in settled if (s.queue, s.tenant) in skipped]

    def places_recheck(self, settled: Sequence[Settled]) -> None:
        query = {
            "queues": array_literal(s.queue for s in settled),
            "tenants": array_literal(s.tenant for s in settled),
            "arrivals": array_literal(s.arrivals for s in settled),
        }
        self._tx.send("claim_places_recheck", query)

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        found = self._tx.all("claim_lock_tenants", {"names": list(names)})
        return {row["name"]: rows.tenant_row(row, VALUES) for row in found}

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        found = self._tx.all("claim_running", {"names": list(names), "now": now})
        return {row["tenant"]: Running(count=row["count"], elapsed=row["elapsed"]) for row in found}

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        found = self._tx.all("claim_blocked_keys", {"names": list(names)})
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
        blocked_pairs = sorted(blocked)
        query = {
            "tenants": array_literal(allocation),
            "limits": array_literal(count + overfetch for count in allocation.values()),
            "slots": array_literal(allocation.values()),
            "queues": array_literal(queues),
            "blocked_tenants": array_literal(tenant for tenant, _ in blocked_pairs),
            "blocked_keys": array_literal(key for _, key in blocked_pairs),
            "exclude": array_literal(exclude),
            **_lease(params),
        }
        found = self._tx.all("claim_take", query)
        if any(row["started"] for row in found):
            started = [
                rows.claimed(row, VALUES, params.lease_token) for row in found if row["started"]
            ]
            return Take(started=started, candidates=[])
        return Take(started=[], candidates=[rows.candidate(row, VALUES) for row in found])

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        ordered = sorted(keys)
        query = {"tenants": [t for t, _ in ordered], "keys": [k for _, k in ordered]}
        found = self._tx.all("claim_running_by_key", query)
        return {(row["tenant"], row["key"]): row["count"] for row in found}

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]:
        if not ids:
            return []
        found = self._tx.all("claim_mark_running", {"ids": list(ids), **_lease(params)})
        return [rows.claimed(row, VALUES, params.lease_token) for row in found]

    @contextmanager
    def atomic(self) -> Iterator[bool]:
        with self._tx.atomic(CLAIM_SETTINGS) as opened:
            yield opened

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None:
        names = sorted(tokens)
        query = {"names": names, "tokens": [tokens[n] for n in names], "now": now}
        self._tx.count("claim_spend_tokens", query)


def _place(*columns: Any) -> Place:
    """A place from claim_places' columns in order: its own four after the queue, its tenant's
    settings (``rows.TENANT_SETTINGS``) after the name, and what the tenant runs."""
    queue, name, place, arrivals, held, *settings, running, elapsed = columns
    return Place(
        queue=queue,
        place=place,
        arrivals=arrivals,
        held=held,
        row=rows.tenant_of(VALUES, name, settings),
        running=Running(count=running, elapsed=elapsed),
    )


def _lease(params: b.JobClaimParams) -> dict[str, Any]:
    return {
        "lease_token": params.lease_token,
        "worker_id": params.worker_id,
        "lease_expires_at": params.now + params.lease_for,
        "now": params.now,
    }
