"""The fair claim, written once for every backend.

A backend supplies a ``ClaimStore``: a handful of reads and writes, each one SQL block, run
inside the claim's transaction. This module decides with the pure policy in
``workhorse.scheduling.fairness``:

1. find the tenants with queued jobs in the worker's queues (a skip scan: one index probe per
   tenant, independent of the backlog), with their settings, usage and running jobs, in one read;
2. drop paused tenants; lock the rows of tenants with quotas (``max_running`` or a rate) and
   count their running jobs again, so that racing claimers never both spend the same quota — a
   tenant locked by another claimer is skipped this round, not waited for;
3. allocate the free slots with the fair-share policy;
4. fetch each tenant's best jobs (priority, then ``run_at``, then id), hold back those whose
   concurrency key is at its limit, and mark the rest running; spend rate tokens.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from workhorse.backends import base as b
from workhorse.scheduling.fairness import MIN_COST, TenantDemand, allocate, decayed, refill

OVERFETCH = 8
"""Extra candidates fetched per tenant, so a few jobs held back by their concurrency key do not
leave the tenant's slots empty."""

ROUNDS = 3
"""Allocation rounds per claim: slots a tenant could not use are offered to the others."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantRow:
    """A tenant's stored state; a tenant without a row has the defaults."""

    name: str
    weight: float = 1.0
    max_running: int | None = None
    rate: float | None = None
    burst: float | None = None
    paused: bool = False
    usage: float = 0.0
    usage_at: datetime | None = None
    mean_cost: float | None = None
    tokens: float | None = None
    tokens_at: datetime | None = None

    @property
    def has_quota(self) -> bool:
        return self.max_running is not None or self.rate is not None

    @property
    def bucket(self) -> float:
        """Tokens the start-rate bucket holds when full."""
        return self.burst if self.burst is not None else max(1.0, self.rate or 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    id: int
    tenant: str
    priority: int
    run_at: datetime
    concurrency_key: str | None
    concurrency_limit: int | None

    @property
    def order(self) -> tuple[int, datetime, int]:
        return (-self.priority, self.run_at, self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Running:
    count: int
    elapsed: float
    """Seconds its running jobs have run so far, summed."""
    keyed: int = 0
    """How many of them have a concurrency key."""


class ClaimStore(Protocol):
    """The reads and writes of one claim transaction."""

    def tenants(self, queues: Sequence[str], now: datetime) -> list[tuple[TenantRow, Running]]:
        """The tenants with queued jobs in ``queues``, their settings and running jobs."""

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        """Lock these tenants' rows for the transaction; returns those locked (others are
        skipped), as they stand now that no other claimer can change them."""

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        """Running jobs per tenant, counted again after the tenants were locked."""

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        """(tenant, key) pairs whose running jobs already reach the key's limit."""

    def candidates(
        self,
        limits: dict[str, int],
        queues: Sequence[str],
        *,
        blocked: set[tuple[str, str]],
        exclude: set[int],
    ) -> list[Candidate]:
        """Each tenant's best queued jobs (up to its limit), locked for this transaction, skipping
        jobs of ``blocked`` keys and the ids in ``exclude``."""

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Running jobs per (tenant, key) for the keys this transaction could lock; a key held by
        another claimer is missing (and gets no slot this round)."""

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]: ...

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None: ...


def claim(store: ClaimStore, params: b.JobClaimParams) -> list[b.ClaimedJob]:
    """Claim up to ``params.limit`` jobs fairly; see the module docstring."""
    queues = list(dict.fromkeys(params.queues))
    if params.limit <= 0 or not queues:
        return []
    found = [(row, running) for row, running in store.tenants(queues, params.now) if not row.paused]
    if not found:
        return []
    rows = {row.name: row for row, _ in found}
    running = {row.name: counts for row, counts in found}
    quota = [name for name, row in rows.items() if row.has_quota]
    if quota:
        # Count again under the locks: another claimer may have started jobs meanwhile.
        locked = store.lock_tenants(quota)
        rows = {n: row for n, row in rows.items() if not row.has_quota} | locked
        recount = store.running(sorted(locked), params.now) if locked else {}
        running |= {name: recount.get(name, Running(count=0, elapsed=0.0)) for name in locked}
    if not rows:
        return []
    tokens = {n: _tokens(row, params.now) for n, row in rows.items() if row.rate is not None}
    demands = [_demand(row, running.get(n), tokens.get(n), params) for n, row in rows.items()]
    keyed = [row.name for row, counts in found if counts.keyed and row.name in rows]
    # Most claims involve no concurrency key at all: skip that read then.
    blocked = store.blocked_keys(keyed) if keyed else set()
    chosen = _claim_rounds(store, demands, params.limit, queues, blocked)
    claimed = store.mark_running([c.id for c in chosen], params)
    spent = _spent(tokens, chosen)
    if spent:
        store.spend_tokens(spent, params.now)
    rank = {candidate.id: index for index, candidate in enumerate(chosen)}
    return sorted(claimed, key=lambda job: rank[job.id])


def _claim_rounds(
    store: ClaimStore,
    demands: list[TenantDemand],
    capacity: int,
    queues: Sequence[str],
    blocked: set[tuple[str, str]],
) -> list[Candidate]:
    """Allocate, fetch, and allocate again what tenants could not use (all their jobs were held
    back by concurrency keys, or they had fewer jobs than slots), a few rounds at most."""
    chosen: list[Candidate] = []
    for _ in range(ROUNDS):
        allocation = allocate(demands, capacity)
        if not allocation:
            break
        exclude = {c.id for c in chosen}
        picked = _choose(store, allocation, queues, blocked, exclude)
        chosen.extend(picked)
        capacity -= len(picked)
        got = Counter(c.tenant for c in picked)
        short = {name for name, count in allocation.items() if got[name] < count}
        if capacity <= 0 or not short:
            break
        demands = [_after(d, got[d.name]) for d in demands if d.name not in short]
    return sorted(chosen, key=lambda c: c.order)


def _after(demand: TenantDemand, started: int) -> TenantDemand:
    """A tenant's demand once ``started`` more of its jobs were picked this claim."""
    if not started:
        return demand
    return replace(
        demand,
        running=demand.running + started,
        tokens=None if demand.tokens is None else demand.tokens - started,
        usage=demand.usage + started * max(demand.mean_cost, MIN_COST),
    )


def _tokens(row: TenantRow, now: datetime) -> float:
    if row.tokens is None or row.tokens_at is None:
        return row.bucket
    return refill(row.tokens, now - row.tokens_at, row.rate or 0.0, row.bucket)


def _demand(
    row: TenantRow, running: Running | None, tokens: float | None, params: b.JobClaimParams
) -> TenantDemand:
    usage = row.usage
    if row.usage_at is not None:
        usage = decayed(usage, params.now - row.usage_at, params.usage_window)
    return TenantDemand(
        name=row.name,
        weight=row.weight,
        usage=usage + (running.elapsed if running else 0.0),
        running=running.count if running else 0,
        max_running=row.max_running,
        tokens=tokens,
        mean_cost=row.mean_cost or 0.0,
    )


def _choose(
    store: ClaimStore,
    allocation: dict[str, int],
    queues: Sequence[str],
    blocked: set[tuple[str, str]],
    exclude: set[int],
) -> list[Candidate]:
    limits = {name: count + OVERFETCH for name, count in allocation.items()}
    by_tenant: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in store.candidates(limits, queues, blocked=blocked, exclude=exclude):
        by_tenant[candidate.tenant].append(candidate)
    keys = {(c.tenant, c.concurrency_key) for c in _flatten(by_tenant) if c.concurrency_key}
    in_use = store.running_by_key(keys) if keys else {}
    chosen: list[Candidate] = []
    for name, candidates in by_tenant.items():
        candidates.sort(key=lambda c: c.order)
        chosen.extend(_admit(candidates, allocation[name], in_use))
    return chosen


def _admit(
    candidates: list[Candidate], slots: int, in_use: dict[tuple[str, str], int]
) -> list[Candidate]:
    """The first ``slots`` candidates whose concurrency key (if any) has room."""
    admitted: list[Candidate] = []
    for candidate in candidates:
        if len(admitted) == slots:
            break
        if candidate.concurrency_key is not None:
            key = (candidate.tenant, candidate.concurrency_key)
            if key not in in_use or in_use[key] >= (candidate.concurrency_limit or 1):
                continue
            in_use[key] += 1
        admitted.append(candidate)
    return admitted


def _flatten(groups: dict[str, list[Candidate]]) -> list[Candidate]:
    return [candidate for group in groups.values() for candidate in group]


def _spent(tokens: dict[str, float], chosen: list[Candidate]) -> dict[str, float]:
    started: dict[str, int] = defaultdict(int)
    for candidate in chosen:
        started[candidate.tenant] += 1
    return {name: tokens[name] - started[name] for name in tokens if started[name]}
