"""job_claim across tenants: pause, max_running, start rate, concurrency keys, priorities within a
tenant, and fair share by recent usage per weight. Time is always the claim's ``now``."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.tenants import Tenant

from .conftest import OpenStore
from .support import LEASE, T0, Jobs, at, new_job, success


def _configure(backend: Backend, name: str, now: datetime = T0, **fields: Any) -> Tenant:
    return backend.tenant_upsert(b.TenantUpsertParams(tenant=Tenant(name=name, **fields), now=now))


def _tenants(claimed: Sequence[b.ClaimedJob]) -> Counter[str]:
    return Counter(job.tenant for job in claimed)


def _enqueue(jobs: Jobs, tenant: str, count: int, now: datetime = T0, **fields: Any) -> list[int]:
    inserted = jobs.insert_many([new_job(now, tenant=tenant, **fields) for _ in range(count)], now)
    return [row.id for row in inserted]


def _use(jobs: Jobs, tenant: str, seconds: float, *, finish_at: float = 0.0) -> None:
    """Give ``tenant`` ``seconds`` of recent usage: a job that ran until ``finish_at``."""
    [job_id] = _enqueue(jobs, tenant, 1, now=at(finish_at - seconds), queue="warmup")
    job = jobs.claim_one(job_id, queue="warmup", now=at(finish_at - seconds))
    assert jobs.finish(success(job), now=at(finish_at)) == [job.id]


# -- paused tenants ----------------------------------------------------------------------------


def test_job_claim_skips_a_paused_tenant_until_it_is_resumed(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", paused=True)
    paused_ids = _enqueue(jobs, "acme", 3)
    other_ids = _enqueue(jobs, "globex", 2)
    claimed = jobs.claim(limit=10)
    assert sorted(job.id for job in claimed) == other_ids
    assert jobs.claim(limit=10) == []

    _configure(jobs.backend, "acme", paused=False)
    assert sorted(job.id for job in jobs.claim(limit=10, now=at(1))) == paused_ids


def test_job_claim_of_only_paused_tenants_claims_nothing(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", paused=True)
    _enqueue(jobs, "acme", 2)
    assert jobs.claim(limit=5) == []
    assert _stats(jobs.backend)["acme"].waiting == 2


def test_job_claim_keeps_the_configuration_when_pausing_and_resuming(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_running=1, paused=True)
    _enqueue(jobs, "acme", 3)
    assert jobs.claim(limit=5) == []
    _configure(jobs.backend, "acme", max_running=1, paused=False)
    assert len(jobs.claim(limit=5)) == 1


# -- max_running -------------------------------------------------------------------------------


def test_job_claim_holds_max_running_across_claims_until_jobs_finish(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_running=2)
    ids = _enqueue(jobs, "acme", 5)
    first = jobs.claim(limit=10)
    assert [job.id for job in first] == ids[:2]
    assert jobs.claim(limit=10, now=at(1)) == []
    assert jobs.claim(limit=1, now=at(2)) == []

    jobs.finish(success(first[0]), now=at(3))
    second = jobs.claim(limit=10, now=at(3))
    assert [job.id for job in second] == [ids[2]]
    assert jobs.claim(limit=10, now=at(3)) == []

    jobs.finish(success(first[1]), success(second[0]), now=at(4))
    assert [job.id for job in jobs.claim(limit=10, now=at(4))] == ids[3:]


def test_job_claim_max_running_is_per_tenant(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_running=1)
    _enqueue(jobs, "acme", 3)
    _enqueue(jobs, "globex", 3)
    assert _tenants(jobs.claim(limit=10)) == {"acme": 1, "globex": 3}


def test_job_claim_with_max_running_zero_claims_nothing_of_the_tenant(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_running=0)
    _enqueue(jobs, "acme", 2)
    assert jobs.claim(limit=10) == []


def test_job_claim_after_max_running_is_lowered_waits_until_below_it(jobs: Jobs) -> None:
    _enqueue(jobs, "acme", 5)
    running = jobs.claim(limit=3)
    _configure(jobs.backend, "acme", max_running=2)
    assert jobs.claim(limit=10, now=at(1)) == []
    jobs.finish(success(running[0]), now=at(2))
    assert jobs.claim(limit=10, now=at(2)) == []
    jobs.finish(success(running[1]), now=at(3))
    assert len(jobs.claim(limit=10, now=at(3))) == 1


def test_job_claim_counts_running_jobs_of_every_queue_against_max_running(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_running=2)
    _enqueue(jobs, "acme", 2, queue="emails")
    _enqueue(jobs, "acme", 2, queue="reports")
    assert len(jobs.claim(queues=["emails"], limit=10)) == 2
    assert jobs.claim(queues=["reports"], limit=10) == []


# -- start rate --------------------------------------------------------------------------------


def test_job_claim_spends_rate_tokens_that_refill_with_time(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=2.0, burst=2.0)
    _enqueue(jobs, "acme", 10)
    assert len(jobs.claim(limit=10, now=T0)) == 2
    assert jobs.claim(limit=10, now=T0) == []
    assert len(jobs.claim(limit=10, now=at(0.5))) == 1
    assert jobs.claim(limit=10, now=at(0.5)) == []
    assert jobs.claim(limit=10, now=at(0.75)) == []
    assert len(jobs.claim(limit=10, now=at(1.0))) == 1
    # A long idle spell refills the bucket only up to the burst.
    assert len(jobs.claim(limit=10, now=at(100))) == 2
    assert jobs.claim(limit=10, now=at(100)) == []


def test_job_claim_rate_without_burst_holds_at_least_one_token(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=0.5)
    _enqueue(jobs, "acme", 5)
    assert len(jobs.claim(limit=10, now=T0)) == 1
    assert jobs.claim(limit=10, now=at(1)) == []
    assert len(jobs.claim(limit=10, now=at(2))) == 1
    assert jobs.claim(limit=10, now=at(10)) != []


def test_job_claim_rate_counts_claims_not_finishes(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0)
    _enqueue(jobs, "acme", 3)
    [job] = jobs.claim(limit=10, now=T0)
    jobs.finish(success(job), now=at(0.1))
    assert jobs.claim(limit=10, now=at(0.2)) == []
    assert len(jobs.claim(limit=10, now=at(1.0))) == 1


def test_job_claim_rate_is_per_tenant(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0)
    _enqueue(jobs, "acme", 3)
    _enqueue(jobs, "globex", 3)
    assert _tenants(jobs.claim(limit=10)) == {"acme": 1, "globex": 3}


def test_pausing_and_resuming_does_not_refill_the_bucket(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0)
    _enqueue(jobs, "acme", 3)
    assert len(jobs.claim(limit=10, now=T0)) == 1
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0, paused=True)
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0, paused=False)
    assert jobs.claim(limit=10, now=at(0.5)) == []


def test_changing_the_rate_starts_from_a_full_bucket(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=1.0, burst=1.0)
    _enqueue(jobs, "acme", 5)
    assert len(jobs.claim(limit=10, now=T0)) == 1
    assert jobs.claim(limit=10, now=T0) == []
    _configure(jobs.backend, "acme", rate=3.0, burst=3.0)
    assert len(jobs.claim(limit=10, now=T0)) == 3


def test_job_claim_with_an_older_clock_reading_does_not_refill_the_bucket_twice(
    jobs: Jobs,
) -> None:
    """A claimer's ``now`` is read before it waits for the database, so claims can commit out of
    clock order. Starts must still fit ``burst + rate * elapsed`` over any stretch of time."""
    _configure(jobs.backend, "acme", rate=1.0, burst=2.0)
    _enqueue(jobs, "acme", 10)
    started = [len(jobs.claim(limit=1, now=at(0)))]
    started.append(len(jobs.claim(limit=1, now=at(1.0))))
    started.append(len(jobs.claim(limit=1, now=at(0.5))))  # read its clock before the last one
    started.append(len(jobs.claim(limit=10, now=at(1.5))))
    # At most 2 + 1 * 1.5 starts from 0 s to 1.5 s.
    assert sum(started) <= 3, started


def test_job_claim_with_rate_and_max_running_obeys_both(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", rate=10.0, burst=10.0, max_running=3)
    _enqueue(jobs, "acme", 20)
    first = jobs.claim(limit=20, now=T0)
    assert len(first) == 3
    jobs.finish(*(success(job) for job in first), now=at(0.01))
    # Three more may run, but only seven tokens are left.
    assert len(jobs.claim(limit=20, now=at(0.01))) == 3


# -- concurrency keys --------------------------------------------------------------------------


def test_job_claim_runs_one_job_per_concurrency_key_and_the_others_still_run(jobs: Jobs) -> None:
    keyed = [jobs.insert(tenant="acme", concurrency_key="export", concurrency_limit=1)]
    keyed += [jobs.insert(tenant="acme", concurrency_key="export", concurrency_limit=1)]
    other_key = jobs.insert(tenant="acme", concurrency_key="import", concurrency_limit=1)
    free = [jobs.insert(tenant="acme") for _ in range(2)]
    first = jobs.claim(limit=10)
    assert sorted(job.id for job in first) == sorted([keyed[0], other_key, *free])
    assert jobs.claim(limit=10, now=at(1)) == []

    [export] = [job for job in first if job.id == keyed[0]]
    jobs.finish(success(export), now=at(2))
    assert [job.id for job in jobs.claim(limit=10, now=at(2))] == [keyed[1]]


def test_job_claim_fills_the_slots_its_keyed_jobs_cannot_take_with_later_jobs(jobs: Jobs) -> None:
    """Three slots; the tenant's best three jobs share a key that admits one: the two slots
    the key holds back go to the tenant's next jobs, in the same claim."""
    keyed = _enqueue(jobs, "acme", 3, priority=5, concurrency_key="k", concurrency_limit=1)
    free = [jobs.insert(tenant="acme") for _ in range(2)]
    claimed = jobs.claim(limit=3)
    assert sorted(job.id for job in claimed) == sorted([keyed[0], *free])


def test_job_claim_admits_up_to_the_concurrency_limit(jobs: Jobs) -> None:
    _enqueue(jobs, "acme", 5, concurrency_key="k", concurrency_limit=2)
    first = jobs.claim(limit=10)
    assert len(first) == 2
    assert jobs.claim(limit=10, now=at(1)) == []
    jobs.finish(success(first[0]), now=at(2))
    assert len(jobs.claim(limit=10, now=at(2))) == 1


def test_job_claim_concurrency_keys_are_per_tenant(jobs: Jobs) -> None:
    _enqueue(jobs, "acme", 2, concurrency_key="k", concurrency_limit=1)
    _enqueue(jobs, "globex", 2, concurrency_key="k", concurrency_limit=1)
    assert _tenants(jobs.claim(limit=10)) == {"acme": 1, "globex": 1}


def test_job_claim_a_long_run_of_held_back_jobs_does_not_starve_the_tenants_others(
    jobs: Jobs,
) -> None:
    """Twenty jobs of one key ahead (higher priority) of a job without a key: once one keyed job
    runs, the job without a key must still be claimable."""
    _enqueue(jobs, "acme", 20, priority=5, concurrency_key="export", concurrency_limit=1)
    free = jobs.insert(tenant="acme", priority=0)
    claimed = [job.id for job in jobs.claim(limit=10)]
    claimed += [job.id for job in jobs.claim(limit=10, now=at(1))]
    assert free in claimed
    assert len(claimed) == 2


def test_job_claim_a_tenant_held_back_by_its_concurrency_key_does_not_block_others(
    jobs: Jobs,
) -> None:
    """Fair share must not hand slots to a tenant none of whose jobs may run: the other tenant's
    job is claimed even though it has used more."""
    _use(jobs, "globex", 10.0, finish_at=0)
    _enqueue(jobs, "acme", 3, concurrency_key="export", concurrency_limit=1)
    assert _tenants(jobs.claim(limit=1)) == {"acme": 1}
    other = jobs.insert(tenant="globex")
    assert [job.id for job in jobs.claim(limit=1, now=at(1))] == [other]


def test_job_claim_holds_back_only_the_tenant_whose_key_is_at_its_limit(jobs: Jobs) -> None:
    """Tenant names may contain '/': "a/b" with key "c" at its limit must not hold back "a" with
    key "b/c" (the pairs are told apart as pairs, not as joined strings). Both tenants have used
    nothing, so one round serves both and learns both tenants' keys at their limit."""
    jobs.running(tenant="a/b", concurrency_key="c", concurrency_limit=1)
    jobs.insert(tenant="a/b", concurrency_key="c", concurrency_limit=1)
    other = jobs.insert(tenant="a", concurrency_key="b/c", concurrency_limit=1)
    assert [job.id for job in jobs.claim(limit=10)] == [other]


def test_job_claim_a_key_at_its_limit_holds_back_only_its_own_tenants_jobs(jobs: Jobs) -> None:
    """acme's key "k" is at its limit; globex's jobs of a key of the same name are not held back
    with it (each tenant's window skips only its own blocked keys)."""
    jobs.running(tenant="acme", concurrency_key="k", concurrency_limit=1)
    jobs.insert(tenant="acme", concurrency_key="k", concurrency_limit=1)
    other = jobs.insert(tenant="globex", concurrency_key="k", concurrency_limit=1)
    assert [job.id for job in jobs.claim(limit=10)] == [other]


# -- priorities and fair share -----------------------------------------------------------------


def test_job_claim_orders_a_tenants_jobs_by_priority(jobs: Jobs) -> None:
    for priority in (0, 5, 3, 5, -1):
        jobs.insert(tenant="acme", task=f"p{priority}", priority=priority)
    order = [job.task for step in range(5) for job in jobs.claim(limit=1, now=at(step))]
    assert order == ["p5", "p5", "p3", "p0", "p-1"]


def test_job_claim_priority_does_not_jump_another_tenants_fair_share(jobs: Jobs) -> None:
    _use(jobs, "busy", 10.0)
    jobs.insert(tenant="busy", task="urgent", priority=100)
    jobs.insert(tenant="idle", task="routine", priority=0)
    assert [(job.tenant, job.task) for job in jobs.claim(limit=1)] == [("idle", "routine")]


def test_job_claim_serves_the_tenant_with_the_least_recent_usage_first(jobs: Jobs) -> None:
    _use(jobs, "heavy", 10.0)
    _use(jobs, "light", 2.0)
    for tenant in ("heavy", "light", "fresh"):
        jobs.insert(tenant=tenant)
    order = [job.tenant for step in range(3) for job in jobs.claim(limit=1, now=at(step / 10))]
    assert order == ["fresh", "light", "heavy"]


def test_job_claim_measures_usage_per_unit_of_weight(jobs: Jobs) -> None:
    _configure(jobs.backend, "big", weight=10.0)
    _use(jobs, "big", 10.0)
    _use(jobs, "small", 2.0)
    jobs.insert(tenant="small")
    jobs.insert(tenant="big")
    assert [job.tenant for job in jobs.claim(limit=1)] == ["big"]


def test_job_claim_lets_old_usage_decay_over_the_usage_window(jobs: Jobs) -> None:
    _use(jobs, "earlier", 10.0, finish_at=0)
    _use(jobs, "recent", 2.0, finish_at=200)
    jobs.insert(tenant="earlier", now=at(200))
    jobs.insert(tenant="recent", now=at(200))
    minute = b.JobClaimParams(
        worker_id="w",
        queues=["default"],
        limit=1,
        lease_token="t1",
        lease_for=LEASE,
        now=at(200),
        usage_window=timedelta(minutes=1),
    )
    # 10 s decayed over 200 s with a one-minute window is 0.36 s: less than 2 s.
    assert [job.tenant for job in jobs.backend.job_claim(minute)] == ["earlier"]


def test_job_claim_with_a_long_usage_window_remembers_old_usage(jobs: Jobs) -> None:
    _use(jobs, "earlier", 10.0, finish_at=0)
    _use(jobs, "recent", 2.0, finish_at=200)
    jobs.insert(tenant="earlier", now=at(200))
    jobs.insert(tenant="recent", now=at(200))
    hour = b.JobClaimParams(
        worker_id="w",
        queues=["default"],
        limit=1,
        lease_token="t1",
        lease_for=LEASE,
        now=at(200),
        usage_window=timedelta(hours=1),
    )
    # 10 s decayed over 200 s with a one-hour window is still 9.5 s.
    assert [job.tenant for job in jobs.backend.job_claim(hour)] == ["recent"]


def test_job_claim_counts_the_run_time_of_running_jobs_as_usage(jobs: Jobs) -> None:
    _use(jobs, "finished", 5.0, finish_at=5)
    _enqueue(jobs, "long", 3)
    _enqueue(jobs, "finished", 1, now=at(5))
    # At 1 s, "long" has run 1 s so far: less than 5 s.
    assert _tenants(jobs.claim(limit=1, now=at(1))) == {"long": 1}
    assert _tenants(jobs.claim(limit=1, now=at(2))) == {"long": 1}
    # At 30 s its two running jobs have run 29 + 28 s: far more than the other's 5 s.
    assert _tenants(jobs.claim(limit=1, now=at(30))) == {"finished": 1}


def test_job_claim_splits_one_claim_by_weight(jobs: Jobs) -> None:
    _configure(jobs.backend, "three", weight=3.0)
    _configure(jobs.backend, "one", weight=1.0)
    _enqueue(jobs, "three", 10)
    _enqueue(jobs, "one", 10)
    assert _tenants(jobs.claim(limit=8)) == {"three": 6, "one": 2}


def test_job_claim_splits_one_claim_by_cost(jobs: Jobs) -> None:
    """Equal usage: the tenant whose jobs take 100 ms gets one slot while the one whose jobs
    take 10 ms gets five, within the same worker-time."""
    slow = jobs.running(tenant="slow")
    jobs.finish(success(slow), now=at(0.1))
    fast = [
        jobs.running(tenant="fast", now=at(0.1) + i * timedelta(seconds=0.01)) for i in range(10)
    ]
    for i, job in enumerate(fast):
        assert jobs.finish(success(job), now=at(0.11) + i * timedelta(seconds=0.01)) == [job.id]
    _enqueue(jobs, "slow", 10, now=at(0.2))
    _enqueue(jobs, "fast", 10, now=at(0.2))
    assert _tenants(jobs.claim(limit=6, now=at(0.2))) == {"slow": 1, "fast": 5}


def test_job_claim_gives_every_slot_when_one_tenant_is_capped(jobs: Jobs) -> None:
    _configure(jobs.backend, "capped", max_running=1)
    _enqueue(jobs, "capped", 5)
    _enqueue(jobs, "open", 5)
    assert _tenants(jobs.claim(limit=6)) == {"capped": 1, "open": 5}


# -- racing claimers ---------------------------------------------------------------------------

CLAIMERS = 8


def _race(open_store: OpenStore, limit: int, rounds: int) -> list[b.ClaimedJob]:
    """Every claimer (each with its own backend) claims ``rounds`` times at once at T0."""
    backends = [open_store() for _ in range(CLAIMERS)]
    start = threading.Barrier(CLAIMERS)

    def claimer(index: int) -> list[b.ClaimedJob]:
        start.wait(30)
        claimed: list[b.ClaimedJob] = []
        for round_ in range(rounds):
            params = b.JobClaimParams(
                worker_id=f"w{index}",
                queues=["default"],
                limit=limit,
                lease_token=f"w{index}-{round_}",
                lease_for=LEASE,
                now=T0,
            )
            claimed += backends[index].job_claim(params)
        return claimed

    with ThreadPoolExecutor(CLAIMERS) as pool:
        return [job for batch in pool.map(claimer, range(CLAIMERS)) for job in batch]


@pytest.mark.pgbouncer
@pytest.mark.parametrize("limit", [1, 3])
def test_racing_claimers_never_pass_max_running(
    jobs: Jobs, open_store: OpenStore, limit: int
) -> None:
    _configure(jobs.backend, "acme", max_running=3)
    _enqueue(jobs, "acme", 40)
    _enqueue(jobs, "globex", 10)
    claimed = _race(open_store, limit, rounds=3)
    assert len({job.id for job in claimed}) == len(claimed)
    assert 1 <= _tenants(claimed)["acme"] <= 3
    # Racing claimers may skip rows others hold, but none is lost: a calm claim takes the rest,
    # and still no more of acme's than max_running allows.
    rest = jobs.claim(limit=100)
    assert _tenants(claimed) + _tenants(rest) == {"acme": 3, "globex": 10}


@pytest.mark.pgbouncer
def test_racing_claimers_admit_one_job_per_concurrency_key(
    jobs: Jobs, open_store: OpenStore
) -> None:
    for key in ("a", "b", "c"):
        _enqueue(jobs, "acme", 10, concurrency_key=key, concurrency_limit=1)
    claimed = _race(open_store, 2, rounds=3)
    assert len({job.id for job in claimed}) == len(claimed)
    keys = Counter(jobs.get(job.id).concurrency_key for job in claimed)
    assert claimed
    assert all(count <= 1 for count in keys.values()), keys
    rest = jobs.claim(limit=100)
    assert keys + Counter(jobs.get(job.id).concurrency_key for job in rest) == {
        "a": 1,
        "b": 1,
        "c": 1,
    }


@pytest.mark.pgbouncer
def test_racing_claimers_never_spend_more_than_the_burst(jobs: Jobs, open_store: OpenStore) -> None:
    _configure(jobs.backend, "acme", rate=1.0, burst=4.0)
    _enqueue(jobs, "acme", 60)
    claimed = _race(open_store, 2, rounds=8)
    assert 1 <= len(claimed) <= 4


def _stats(backend: Backend) -> dict[str, Any]:
    return {row.tenant.name: row for row in backend.tenant_stats(b.TenantStatsParams(now=T0))}


def test_job_claim_counts_jobs_claimed_a_moment_ago_at_their_expected_cost(jobs: Jobs) -> None:
    """Jobs claimed ahead (a worker's prefetch) have barely run, but they will cost what the
    tenant's jobs cost: "light" has 4 jobs of 50 ms just claimed, so its 0.05 s of usage is
    0.25 s in effect, more than "heavy"'s 0.3 s over weight 3."""
    _configure(jobs.backend, "heavy", weight=3.0)
    _use(jobs, "heavy", 0.3)
    _use(jobs, "light", 0.05)
    _enqueue(jobs, "light", 4)
    assert _tenants(jobs.claim(limit=4)) == {"light": 4}
    _enqueue(jobs, "heavy", 1)
    _enqueue(jobs, "light", 1)
    assert _tenants(jobs.claim(limit=1)) == {"heavy": 1}
