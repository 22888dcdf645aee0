"""Fair share with 10,000 tenants with work: the claim reads only the front of the order, and the
order still gives every backlogged tenant its weight's share. Simulated with the backend
directly: each step claims a batch at ``now`` and finishes it one second later, so every job
costs one second of worker-time."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from workhorse.backends import base as b
from workhorse.tenants import Tenant

from .support import T0, Jobs, at, new_job, success

TENANTS = 10_000
HEAVY_EVERY = 10
"""One tenant in ten weighs ``HEAVY``, the others 1."""
HEAVY = 3.0
BATCH = 1_000
"""Jobs started per step: the simulated workers' slots."""
ROUNDS = 2
"""Fair rounds simulated: in one, each heavy tenant runs 3 jobs and each light tenant 1."""


def _name(index: int) -> str:
    return f"{'heavy' if index % HEAVY_EVERY == 0 else 'light'}-{index:05}"


def _weight(name: str) -> float:
    return HEAVY if name.startswith("heavy") else 1.0


def _backlog(jobs: Jobs) -> None:
    """Every tenant configured and backlogged beyond what the simulation will run."""
    for index in range(0, TENANTS, HEAVY_EVERY):
        tenant = Tenant(name=_name(index), weight=HEAVY)
        jobs.backend.tenant_upsert(b.TenantUpsertParams(tenant=tenant, now=T0))
    per_tenant = {name: int(_weight(name)) * ROUNDS + 2 for name in map(_name, range(TENANTS))}
    backlog = [new_job(T0, tenant=n) for n, count in per_tenant.items() for _ in range(count)]
    jobs.insert_many(backlog)


def _step(jobs: Jobs, now: datetime) -> list[b.ClaimedJob]:
    """Claim a batch at ``now`` and finish it a second later."""
    claimed = jobs.claim(limit=BATCH, now=now)
    jobs.finish(*(success(job) for job in claimed), now=now + (at(1) - T0))
    return claimed


def test_every_backlogged_tenant_gets_its_weights_share_and_a_late_one_is_served_at_once(
    jobs: Jobs,
) -> None:
    _backlog(jobs)
    heavy_tenants = TENANTS // HEAVY_EVERY
    round_ = int(heavy_tenants * HEAVY + (TENANTS - heavy_tenants))
    served: Counter[str] = Counter()
    for step in range(ROUNDS * round_ // BATCH):
        if step == TENANTS // BATCH:
            # Every tenant has run once: one that arrives now is served by the next claim.
            jobs.insert_many([new_job(at(step), tenant="late")], now=at(step))
        claimed = [job.tenant for job in _step(jobs, at(step))]
        assert step != TENANTS // BATCH or "late" in claimed
        served.update(claimed)
    served.pop("late", None)
    heavy = sum(count for name, count in served.items() if _weight(name) == HEAVY)
    expected = heavy_tenants * HEAVY / round_
    assert abs(heavy / sum(served.values()) - expected) <= 0.05
    # Each tenant, not just each class: within one job of its share of the rounds.
    assert all(abs(served[n] - _weight(n) * ROUNDS) <= 1 for n in map(_name, range(TENANTS)))
