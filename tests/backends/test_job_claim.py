"""job_claim: the order of service, leases, and exclusivity under concurrency."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import LEASE, Jobs, at, claim_until_empty, failure, new_job


def test_job_claim_orders_by_priority_then_run_at_then_id(jobs: Jobs) -> None:
    # Inserted out of order on purpose; run_at in the past keeps every job queued.
    specs = [
        ("low-late", 0, at(-10)),
        ("high-late", 5, at(-10)),
        ("low-early", 0, at(-30)),
        ("high-early-a", 5, at(-20)),
        ("high-early-b", 5, at(-20)),
        ("negative", -3, at(-60)),
    ]
    for task, priority, run_at in specs:
        jobs.insert(task=task, priority=priority, run_at=run_at)
    claimed = jobs.claim(limit=10)
    assert [job.task for job in claimed] == [
        "high-early-a",
        "high-early-b",
        "high-late",
        "low-early",
        "low-late",
        "negative",
    ]


def test_job_claim_takes_the_best_jobs_first_one_at_a_time(jobs: Jobs) -> None:
    for priority in (1, 3, 2):
        jobs.insert(task=f"p{priority}", priority=priority)
    order = [job.task for _ in range(3) for job in jobs.claim(limit=1)]
    assert order == ["p3", "p2", "p1"]


def test_job_claim_merges_several_queues_in_order(jobs: Jobs) -> None:
    jobs.insert(queue="a", task="a1", priority=1, run_at=at(-5))
    jobs.insert(queue="a", task="a9", priority=9, run_at=at(-5))
    jobs.insert(queue="b", task="b5", priority=5, run_at=at(-5))
    jobs.insert(queue="b", task="b9-older", priority=9, run_at=at(-50))
    jobs.insert(queue="c", task="c-not-asked", priority=100)
    claimed = jobs.claim(queues=["a", "b"], limit=3)
    assert [job.task for job in claimed] == ["b9-older", "a9", "b5"]
    assert [job.task for job in jobs.claim(queues=["b", "a"], limit=10)] == ["a1"]


def test_job_claim_limit_is_global_across_queues(jobs: Jobs) -> None:
    for i in range(3):
        jobs.insert(queue="hot", task=f"hot{i}", priority=10)
        jobs.insert(queue="cold", task=f"cold{i}", priority=0)
    claimed = jobs.claim(queues=["cold", "hot"], limit=4)
    assert [job.task for job in claimed] == ["hot0", "hot1", "hot2", "cold0"]


def test_job_claim_with_a_repeated_queue_claims_each_job_once(jobs: Jobs) -> None:
    ids = [jobs.insert() for _ in range(3)]
    claimed = jobs.claim(queues=["default", "default"], limit=10)
    assert [job.id for job in claimed] == ids


def test_job_claim_respects_the_limit(jobs: Jobs) -> None:
    ids = [jobs.insert() for _ in range(5)]
    assert [job.id for job in jobs.claim(limit=2)] == ids[:2]
    assert [job.id for job in jobs.claim(limit=2)] == ids[2:4]
    assert [job.id for job in jobs.claim(limit=2)] == ids[4:]
    assert jobs.claim(limit=2) == []


@pytest.mark.parametrize(("limit", "queues"), [(0, ["default"]), (5, [])])
def test_job_claim_of_nothing_claims_nothing(jobs: Jobs, limit: int, queues: list[str]) -> None:
    job_id = jobs.insert()
    assert jobs.claim(limit=limit, queues=queues) == []
    assert jobs.state(job_id) is JobState.QUEUED


def test_job_claim_ignores_other_queues(jobs: Jobs) -> None:
    job_id = jobs.insert(queue="emails")
    assert jobs.claim(queues=["default", "reports"]) == []
    assert jobs.state(job_id) is JobState.QUEUED


@pytest.mark.parametrize(
    "state",
    [
        JobState.SCHEDULED,
        JobState.RUNNING,
        JobState.RETRYING,
        JobState.SUCCEEDED,
        JobState.DEAD,
        JobState.CANCELLED,
    ],
)
def test_job_claim_takes_only_queued_jobs(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    assert jobs.claim(now=at(1)) == []
    assert jobs.state(job_id) is state


def test_job_claim_leaves_scheduled_jobs_even_after_run_at_until_promoted(jobs: Jobs) -> None:
    job_id = jobs.insert(run_at=at(60))
    assert jobs.claim(now=at(120)) == []
    assert jobs.state(job_id) is JobState.SCHEDULED


def test_job_claim_marks_jobs_running_under_the_lease(jobs: Jobs) -> None:
    job_id = jobs.insert(
        tenant="globex",
        queue="q",
        task="send",
        args_json='[1,{"x":[2]}]',
        kwargs_json='{"to":"a"}',
        max_attempts=4,
        timeout=9.5,
    )
    [claimed] = jobs.claim(
        worker="w7", queues=["q"], token="tok", lease=timedelta(seconds=45), now=at(10)
    )
    assert claimed == b.ClaimedJob(
        id=job_id,
        tenant="globex",
        queue="q",
        task="send",
        args=[1, {"x": [2]}],
        kwargs={"to": "a"},
        attempt=1,
        max_attempts=4,
        timeout=9.5,
        lease_token="tok",
        run_at=at(0),
        trace_context=None,
    )
    job = jobs.get(job_id)
    assert job.state is JobState.RUNNING
    assert job.attempts == 1
    assert job.worker_id == "w7"
    assert job.started_at == at(10)
    assert job.lease_expires_at == at(55)


def test_job_claim_counts_attempts(jobs: Jobs) -> None:
    job = jobs.running()
    assert jobs.finish(failure(job, run_at=at(1))) == [job.id]
    jobs.backend.job_promote(b.JobPromoteParams(now=at(1), limit=10))
    [again] = jobs.claim(now=at(2))
    assert (again.id, again.attempt) == (job.id, 2)
    assert again.lease_token != job.lease_token
    assert jobs.get(job.id).attempts == 2


def test_job_claim_never_returns_the_same_job_twice(jobs: Jobs) -> None:
    ids = {jobs.insert() for _ in range(4)}
    first = jobs.claim(worker="w1", limit=3)
    second = jobs.claim(worker="w2", limit=3)
    third = jobs.claim(worker="w3", limit=3)
    assert len(first) == 3
    assert len(second) == 1
    assert third == []
    assert {job.id for job in first + second} == ids


def test_job_claim_from_threads_never_double_claims(backend: Backend) -> None:
    jobs = Jobs(backend)
    ids = [row.id for row in jobs.insert_many([new_job() for _ in range(300)])]
    start = threading.Barrier(6)

    def claimer(worker: str) -> list[int]:
        mine: list[int] = []
        start.wait(30)
        for batch in range(10_000):
            claimed = jobs.claim(worker=worker, limit=1 + batch % 4, token=f"{worker}-{batch}")
            if not claimed:
                return mine
            mine.extend(job.id for job in claimed)
        raise AssertionError("claimer never ran out of jobs")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(claimer, [f"w{i}" for i in range(6)]))
    claimed = Counter(job_id for mine in results for job_id in mine)
    assert sorted(claimed) == ids
    assert set(claimed.values()) == {1}
    for worker, mine in zip([f"w{i}" for i in range(6)], results, strict=True):
        for job_id in mine:
            job = jobs.get(job_id)
            assert (job.worker_id, job.attempts) == (worker, 1)


def test_job_claim_from_separate_processes_never_double_claims(
    backend_url: str, backend: Backend
) -> None:
    ids = [row.id for row in Jobs(backend).insert_many([new_job() for _ in range(400)])]
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    results = ctx.Queue()
    workers = [f"p{i}" for i in range(4)]
    processes = [
        ctx.Process(target=claim_until_empty, args=(backend_url, worker, start, results))
        for worker in workers
    ]
    for process in processes:
        process.start()
    try:
        by_worker = dict(results.get(timeout=90) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    claimed = Counter(job_id for mine in by_worker.values() for job_id in mine)
    assert sorted(claimed) == ids
    assert set(claimed.values()) == {1}
    jobs = Jobs(backend)
    for worker, mine in by_worker.items():
        for job_id in mine:
            job = jobs.get(job_id)
            assert (job.state, job.worker_id, job.attempts) == (JobState.RUNNING, worker, 1)


def test_job_claim_default_lease_expiry_is_now_plus_lease(jobs: Jobs) -> None:
    job = jobs.running(now=at(100))
    assert jobs.get(job.id).lease_expires_at == at(100) + LEASE
    assert jobs.get(job.id).started_at == at(100)
