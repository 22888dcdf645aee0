"""The fair claim, written once for every backend.

A backend supplies a ``ClaimStore``: a handful of reads and writes, each one SQL block, run
inside the claim's transaction. This module decides with the pure policy in
``workhorse.fairness``:

1. read the few places at the front of the fair order in the worker's queues (one row per
   (queue, tenant) with queued work, ordered by usage per weight; see docs/tenants.md), with
   their tenants' settings and running jobs: one index range, however many tenants have work;
2. drop paused tenants; lock the rows of tenants with quotas (``max_running`` or a rate), so
   that racing claimers never both spend the same quota — a tenant locked by another claimer is
   skipped this round, not waited for — and count their running jobs again under those locks;
3. allocate the free slots with the fair-share policy;
4. take each tenant's best jobs (priority, then ``run_at``, then id): when none of them has a
   concurrency key, they are locked and marked running in one statement; otherwise keys already
   at their limit are looked up (and the fetch repeated without their jobs, so they cannot crowd
   out the rest), those whose key has no room are held back and the rest marked running. Spend
   rate tokens;
5. settle the places read: each claimed job's expected cost is charged to its tenant's place
   (so jobs claimed ahead of free slots move the tenant back exactly as jobs started at once
   do), a tenant at a quota or paused is held off the front, and a place whose tenant has no
   queued job left in its queue is removed.

If none of the tenants read could take a job, the places that follow are read (step 1 again,
from the last place read), a few times at most.

The common claim — one tenant or several, no quotas, no keys — is therefore three statements:
one transaction on PostgreSQL, the last two one transaction on SQLite (see ``claim``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from workhorse.backends import base as b
from workhorse.fairness import MIN_COST, TenantDemand, allocate, decayed, place, refill

OVERFETCH = 8
"""Extra candidates fetched per tenant once its jobs turn out to carry concurrency keys, so a few
held back by their key do not leave the tenant's slots empty. The first fetch of a round takes
none: without keys every candidate fetched is locked for nothing (on PostgreSQL a row lock is a
write), and at one job each for many tenants that was nine locks per job taken."""

ROUNDS = 3
"""Allocation rounds per claim: slots a tenant could not use are offered to the others."""

FRONT_EXTRA = 8
"""Places read beyond the claim's limit, so that a few tenants that cannot take a job (drained,
at a concurrency key's limit, locked by another claimer) do not leave slots empty."""

FRONT_READS = 4
"""Reads of the fair order per claim at most: when no tenant read could take a job (paused,
capped, drained, or every one of its jobs locked by another claimer serving the same front), the
claim reads the places that follow instead of returning nothing."""

FRONT_START = (-math.inf, "", "")
"""An ``order`` before every place's: where a claim starts reading."""

QUOTA_HOLD = timedelta(seconds=5)
"""How long a tenant at ``max_running`` stays off the front at most. An attempt of the tenant
ending, or its settings changing, brings it back at once (a trigger on its row); this bound only
covers a running job that leaves without either (cancelled)."""

DRIFT = math.log(2)
"""How far a place may stand ahead of its tenant's usage before a claim that gives the tenant no
slot moves it back: ``ln 2``, a usage per weight up to twice what the place says. A place that
far ahead is read before its turn and passed over by the allocation, which counts the tenant's
real usage, so it costs a place of the front, not fairness; nearer than that it is left alone
and unlocked, since the claimer that took the tenant's last job may be about to remove it, and a
lock taken here would make that claimer skip it and leave it in the order with nothing queued.
Beyond it the place is moved back, so tenants whose jobs ran longer than expected cannot crowd
the front. A new place (``ARRIVED``) is left there too if its tenant is next in line: its usage
puts it no further back than a tenant this claim served, once charged (it was given no slot for
want of slots). The next claim serves it; written, it would have gone behind every other new
place, a round of the order later, for a write. A place behind its tenant's usage is left until
the tenant is served; a place being held, or whose hold has ended (``Place.held``), is always
written."""

ARRIVED = -1e300
"""Where a new place stands (both schemas' default), ahead of every usage: a tenant whose work
arrives is looked at by the next claim."""

HELD_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
"""The hold of a paused tenant's places: until it is resumed (a trigger on its row)."""


# TenantRow, Running, Place and Settled (and fairness.TenantDemand) are built once or more per
# place read, tens of thousands a second in a busy claim, and are not frozen: a frozen
# dataclass's __init__ sets each field through object.__setattr__, about three times the cost
# (1.2 against 0.34 µs for eleven fields); they are never changed once built all the same.


@dataclass(slots=True, kw_only=True)
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


@dataclass(slots=True, kw_only=True)
class Running:
    count: int
    elapsed: float
    """Seconds its running jobs have run so far, summed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Take:
    """One round's fetch: jobs already marked running, or (when a candidate has a concurrency
    key) locked candidates still to be admitted."""

    started: list[b.ClaimedJob]
    candidates: list[Candidate]


@dataclass(slots=True, kw_only=True)
class Place:
    """A (queue, tenant) at the front of the fair order, with the tenant's settings."""

    queue: str
    place: float
    arrivals: int
    """Enqueues into it so far (PostgreSQL): a place is removed only if none came since read."""
    held: bool = False
    """It was held, and its hold has ended: read from the range of ended holds, which it leaves
    only when a claim writes it."""
    row: TenantRow
    running: Running
    """What the tenant runs as the front is read (counted again under its lock if it has a
    quota)."""

    @property
    def order(self) -> tuple[float, str, str]:
        """Its position in the fair order: by place, then tenant, then queue."""
        return (self.place, self.row.name, self.queue)


@dataclass(slots=True, kw_only=True)
class Settled:
    """A place once claimed from: its new position and hold, or removed if its queue is empty."""

    queue: str
    tenant: str
    arrivals: int
    place: float
    held_until: datetime | None
    emptied: bool
    """Its tenant got jobs, or fewer than its slots: remove the place if its queue is empty now.
    (A tenant given nothing keeps its place unchecked: it was not served, so nothing changed.)"""
    vanished: bool = False
    """Its tenant had slots, but the take found none of its jobs: they are gone, or another
    claimer holds every one of them and settles the place itself. On PostgreSQL such a place is
    locked (to be removed, or written if work arrived since it was read) only if its queue holds
    no queued job; otherwise it is left as it is: locked here, it would be skipped by the claimer
    that took the tenant's last job, and stay in the order with nothing queued. (SQLite has one
    writer: no other claimer holds anything while this one settles.) Per tenant, not per place:
    a tenant served in one queue is not vanished in another."""
    quota_held: bool = False
    """Held at ``max_running`` or out of tokens (not paused): the claim locked its tenant's row
    (``ClaimStore.lock_tenants``), and PostgreSQL marks the tenant there, so that its next
    finish releases the hold (``workhorse_places_release``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Result:
    claimed: list[b.ClaimedJob]
    demands: dict[str, TenantDemand]
    """The tenants this claim considered, as they stood before it."""
    short: set[str]
    """Tenants that got fewer jobs than slots: their queues may be empty."""
    vanished: set[str] = field(default_factory=set)
    """Short tenants of which the take found no job at all, none held back by a concurrency
    key (see ``Settled.vanished``)."""


class ClaimStore(Protocol):
    """The reads and writes of one claim transaction."""

    front_in_transaction: bool
    """Whether the front is read inside the claim's transaction (PostgreSQL: the read locks
    nothing, and runs with the transaction's settings) or alone before it (SQLite, whose
    transaction takes the database's write lock, which an empty front would take for nothing)."""

    def places(
        self, queues: Sequence[str], front: int, now: datetime, after: tuple[float, str, str]
    ) -> list[Place]:
        """The first ``front`` places of ``queues`` in the fair order whose ``order`` comes
        after ``after``, best first, with what their tenants run by ``now``; a place whose hold
        has ended by ``now`` counts as not held."""

    def places_settle(self, settled: Sequence[Settled]) -> list[Settled]:
        """Remove the places whose queue holds no queued job of their tenant (unless work
        arrived since they were read); write the others' position and hold. A place another
        transaction holds (an enqueuer, another claimer) is left alone, never waited for.
        Returns the places left alone whose tenants this claim took jobs from: their queues
        may be empty once it commits (``places_recheck``)."""

    def places_recheck(self, settled: Sequence[Settled]) -> None:
        """After the claim committed: remove those of ``settled`` whose queue holds no queued
        job of their tenant and to which no work arrived since the claim read them."""

    def lock_tenants(self, names: Sequence[str]) -> dict[str, TenantRow]:
        """Lock these tenants' rows for the transaction; returns those locked (others are
        skipped), as they stand now that no other claimer can change them."""

    def running(self, names: Sequence[str], now: datetime) -> dict[str, Running]:
        """Running jobs per tenant, counted again once the quota tenants are locked."""

    def blocked_keys(self, names: Sequence[str]) -> set[tuple[str, str]]:
        """(tenant, key) pairs whose running jobs already reach the key's limit."""

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
        """Lock each tenant's best queued jobs (``allocation[tenant] + overfetch`` per queue),
        skipping jobs of ``blocked`` keys and the ids in ``exclude``. If none has a concurrency
        key, mark each tenant's best ``allocation[tenant]`` running and return them in
        ``started``; otherwise mark nothing and return all of them in ``candidates``."""

    def running_by_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Running jobs per (tenant, key) for the keys this transaction could lock; a key held by
        another claimer is missing (and gets no slot this round)."""

    def mark_running(self, ids: Sequence[int], params: b.JobClaimParams) -> list[b.ClaimedJob]: ...

    def spend_tokens(self, tokens: dict[str, float], now: datetime) -> None: ...

    def atomic(self) -> AbstractContextManager[bool]:
        """Make what follows one transaction; yields whether it opened one (False when one is
        open already). Outside it, each statement is a transaction of its own."""


def claim(store: ClaimStore, params: b.JobClaimParams) -> list[b.ClaimedJob]:
    """Claim up to ``params.limit`` jobs fairly; see the module docstring.

    What follows the front's read is one transaction (the read too, where the store reads it
    there): quotas need their locks held from the count to the take and the holds, and the
    take and the settling of the places then commit once.
    """
    queues = list(dict.fromkeys(params.queues))
    if params.limit <= 0 or not queues:
        return []
    front = params.limit + FRONT_EXTRA
    after = FRONT_START
    for _ in range(FRONT_READS):
        places, claimed = _claim_front(store, front, after, params, queues)
        if claimed or len(places) < front:
            return claimed
        after = places[-1].order
    return []


def _claim_front(
    store: ClaimStore,
    front: int,
    after: tuple[float, str, str],
    params: b.JobClaimParams,
    queues: list[str],
) -> tuple[list[Place], list[b.ClaimedJob]]:
    """Read ``front`` places after ``after``; claim from their tenants and settle them in one
    transaction: one commit (the places are only an order, but a second commit would cost a
    second flush)."""
    with store.atomic() if store.front_in_transaction else nullcontext():
        places = store.places(queues, front, params.now, after)
        if not places:
            return places, []
        with store.atomic():
            result = _claim(store, places, params, queues)
            skipped = store.places_settle(settle(places, result, params))
    if skipped:
        store.places_recheck(skipped)
    return places, result.claimed


def _claim(
    store: ClaimStore, places: list[Place], params: b.JobClaimParams, queues: list[str]
) -> _Result:
    rows = {p.row.name: p.row for p in places if not p.row.paused}
    running = {p.row.name: p.running for p in places}
    quota = [name for name, row in rows.items() if row.has_quota]
    if quota:
        locked = store.lock_tenants(quota)
        rows = {n: row for n, row in rows.items() if not row.has_quota} | locked
        running |= store.running(sorted(locked), params.now)
    if not rows:
        return _Result(claimed=[], demands={}, short=set())
    tokens = {n: _tokens(row, params.now) for n, row in rows.items() if row.rate is not None}
    demands = {n: _demand(row, running.get(n), tokens.get(n), params) for n, row in rows.items()}
    claimed, short, seen = _claim_rounds(store, list(demands.values()), params, queues)
    spent = _spent(tokens, claimed)
    if spent:
        store.spend_tokens(spent, params.now)
    return _Result(claimed=claimed, demands=demands, short=short, vanished=short - seen)


def settle(places: list[Place], result: _Result, params: b.JobClaimParams) -> list[Settled]:
    """The places read, after the claim: each tenant considered moves back by the expected cost
    of the jobs it got, and is held while paused or at a quota. A tenant given no slot keeps its
    place unless it stands more than ``DRIFT`` ahead (and is not a new place next in line, see
    ``DRIFT``); places of tenants another claimer had locked are left as they are."""
    started = Counter(job.tenant for job in result.claimed)
    demands = result.demands
    at = params.now.timestamp()
    positions = {
        name: place(_charged(demand, started[name]), demand.weight, at, params.usage_window)
        for name, demand in demands.items()
    }
    reach = max((positions[name] for name in started), default=-math.inf)
    settled = []
    for p in places:
        name = p.row.name
        if p.row.paused:
            settled.append(_settled(p, p.place, HELD_FOREVER, emptied=False))
        elif name in demands:
            demand, got = demands[name], started[name]
            position = positions[name]
            held_until = _held_until(demand, got, p.row, params.now)
            emptied = got > 0 or name in result.short
            if (
                not (emptied or p.held)
                and held_until is None
                and (position - p.place <= DRIFT or (p.place == ARRIVED and position <= reach))
            ):
                continue  # given no slot, but near where it stands or next in line: left unlocked
            vanished = name in result.vanished
            settled.append(_settled(p, position, held_until, emptied=emptied, vanished=vanished))
    return settled


def _settled(
    p: Place,
    position: float,
    held_until: datetime | None,
    *,
    emptied: bool,
    vanished: bool = False,
) -> Settled:
    return Settled(
        queue=p.queue,
        tenant=p.row.name,
        arrivals=p.arrivals,
        place=position,
        held_until=held_until,
        emptied=emptied,
        vanished=vanished,
        quota_held=held_until is not None and held_until != HELD_FOREVER,
    )


def _held_until(
    demand: TenantDemand, started: int, row: TenantRow, now: datetime
) -> datetime | None:
    """Until when a tenant that had ``demand`` and got ``started`` jobs may start no more: at
    ``max_running``, until one of its attempts ends (``QUOTA_HOLD`` at most); out of tokens,
    until the next token (rounded down a millisecond: an early look costs one read, a late one
    a slot)."""
    holds = []
    if demand.max_running is not None and demand.running + started >= demand.max_running:
        holds.append(now + QUOTA_HOLD)
    if demand.tokens is not None and row.rate:
        tokens = demand.tokens - started
        if tokens < 1.0 - 1e-9:
            wait = (1.0 - tokens) / row.rate - 0.001
            holds.append(now + timedelta(seconds=max(0.0, wait)))
    return max(holds) if holds else None


def _claim_rounds(
    store: ClaimStore,
    demands: list[TenantDemand],
    params: b.JobClaimParams,
    queues: Sequence[str],
) -> tuple[list[b.ClaimedJob], set[str], set[str]]:
    """Allocate, take, and allocate again what tenants could not use (all their jobs were held
    back by concurrency keys, or they had fewer jobs than slots), a few rounds at most. Returns
    the jobs, the tenants that got fewer than their slots (some may have no job left), and the
    tenants of which the take found a job or held one back by its key."""
    claimed: list[b.ClaimedJob] = []
    shorts: set[str] = set()
    seen: set[str] = set()
    keys = _Keys()
    capacity = params.limit
    for _ in range(ROUNDS):
        allocation = allocate(demands, capacity)
        if not allocation:
            break
        exclude = {job.id for job in claimed}
        started, found = _take(
            store, allocation, queues=queues, keys=keys, exclude=exclude, params=params
        )
        seen |= found
        claimed.extend(started)
        capacity -= len(started)
        got = Counter(job.tenant for job in started)
        short = {name for name, count in allocation.items() if got[name] < count}
        shorts |= short
        if capacity <= 0 or not short:
            break
        demands = [_after(d, got[d.name]) for d in demands if d.name not in short]
    return claimed, shorts, seen


def _after(demand: TenantDemand, started: int) -> TenantDemand:
    """A tenant's demand once ``started`` more of its jobs were picked this claim."""
    if not started:
        return demand
    return replace(
        demand,
        running=demand.running + started,
        tokens=None if demand.tokens is None else demand.tokens - started,
        usage=_charged(demand, started),
    )


def _charged(demand: TenantDemand, started: int) -> float:
    """A tenant's usage once charged the expected cost of ``started`` more jobs."""
    return demand.usage + started * max(demand.mean_cost, MIN_COST)


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
        usage=usage + _in_flight(running, row.mean_cost),
        running=running.count if running else 0,
        max_running=row.max_running,
        tokens=tokens,
        mean_cost=row.mean_cost or 0.0,
    )


def _in_flight(running: Running | None, mean_cost: float | None) -> float:
    """The usage of a tenant's running jobs: the time they have run, but at least their expected
    cost. A job claimed a moment ago (into a free slot or ahead of one, into a worker's prefetch
    buffer) counts its expected cost at once, as the claim that took it charged; counting only
    its elapsed time would let the tenant's next claim come too soon, and favour the tenants
    whose jobs are long."""
    if running is None:
        return 0.0
    return max(running.elapsed, running.count * max(mean_cost or 0.0, MIN_COST))


@dataclass(slots=True)
class _Keys:
    """Concurrency keys at their limit, looked up once per tenant per claim, when first met."""

    blocked: set[tuple[str, str]] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)

    def learn(self, store: ClaimStore, candidates: list[Candidate]) -> bool:
        """Look up the blocked keys of tenants with keyed candidates; True if any is new."""
        tenants = {c.tenant for c in candidates if c.concurrency_key} - self.checked
        if not tenants:
            return False
        self.checked |= tenants
        found = store.blocked_keys(sorted(tenants)) - self.blocked
        self.blocked |= found
        return bool(found)


def _take(
    store: ClaimStore,
    allocation: dict[str, int],
    *,
    queues: Sequence[str],
    keys: _Keys,
    exclude: set[int],
    params: b.JobClaimParams,
) -> tuple[list[b.ClaimedJob], set[str]]:
    """The jobs started, and the tenants of which a job was found (started, or a candidate
    admission may have held back)."""
    fetched = store.take(allocation, queues, blocked=keys.blocked, exclude=exclude, params=params)
    if not fetched.candidates:
        return fetched.started, {job.tenant for job in fetched.started}
    found = {c.tenant for c in fetched.candidates}
    # Concurrency keys: the candidates' locks, the keys' locks and the marking must be one
    # transaction.
    with store.atomic():
        keys.learn(store, fetched.candidates)
        # Fetch again, in this transaction (it holds the locks), without the jobs of keys found
        # at their limit, and with extra candidates, some of which admission may hold back.
        fetched = store.take(
            allocation,
            queues,
            blocked=keys.blocked,
            exclude=exclude,
            params=params,
            overfetch=OVERFETCH,
        )
        found |= {job.tenant for job in fetched.started} | {c.tenant for c in fetched.candidates}
        if not fetched.candidates:
            return fetched.started, found
        return _admit_keyed(store, allocation, fetched.candidates, params), found


def _admit_keyed(
    store: ClaimStore,
    allocation: dict[str, int],
    fetched: list[Candidate],
    params: b.JobClaimParams,
) -> list[b.ClaimedJob]:
    wanted = {(c.tenant, c.concurrency_key) for c in fetched if c.concurrency_key}
    in_use = store.running_by_key(wanted) if wanted else {}
    chosen: list[Candidate] = []
    for name, candidates in _by_tenant(fetched).items():
        chosen.extend(_admit(candidates, allocation[name], in_use))
    return _mark_in_order(store, chosen, params)


def _by_tenant(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    """Candidates per tenant, each tenant's best first."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[candidate.tenant].append(candidate)
    for group in groups.values():
        group.sort(key=lambda c: c.order)
    return groups


def _mark_in_order(
    store: ClaimStore, chosen: list[Candidate], params: b.JobClaimParams
) -> list[b.ClaimedJob]:
    """Mark ``chosen`` running; the jobs come back best first."""
    chosen = sorted(chosen, key=lambda c: c.order)
    rank = {candidate.id: index for index, candidate in enumerate(chosen)}
    started = store.mark_running([c.id for c in chosen], params)
    return sorted(started, key=lambda job: rank[job.id])


def take_in_steps(
    store: ClaimStore,
    candidates: list[Candidate],
    allocation: dict[str, int],
    params: b.JobClaimParams,
) -> Take:
    """``ClaimStore.take`` for a store whose statements cost no round trip (SQLite): fetched
    ``candidates`` become started jobs when none has a concurrency key."""
    if any(c.concurrency_key is not None for c in candidates):
        return Take(started=[], candidates=candidates)
    best = [
        candidate
        for name, group in _by_tenant(candidates).items()
        for candidate in group[: allocation[name]]
    ]
    return Take(started=_mark_in_order(store, best, params), candidates=[])


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


def _spent(tokens: dict[str, float], claimed: list[b.ClaimedJob]) -> dict[str, float]:
    started = Counter(job.tenant for job in claimed)
    return {name: tokens[name] - started[name] for name in tokens if started[name]}
