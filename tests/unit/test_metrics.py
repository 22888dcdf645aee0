"""In-process metrics: what each hook counts, in registries of their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.observability.metrics import AppMetrics, Operation, Outcome, WorkerMetrics

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _job(
    job_id: int = 1, task: str = "send", queue: str = "mail", run_at: datetime = T0
) -> b.ClaimedJob:
    return b.ClaimedJob(
        id=job_id,
        tenant="acme",
        queue=queue,
        task=task,
        args=[],
        kwargs={},
        attempt=1,
        max_attempts=3,
        timeout=None,
        lease_token="t",
        run_at=run_at,
    )


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_claimed_counts_starts_waits_and_the_batch() -> None:
    metrics = WorkerMetrics()
    now = T0 + timedelta(seconds=3)
    metrics.claimed([_job(1), _job(2, run_at=T0 + timedelta(seconds=2.5)), _job(3, task="x")], now)
    metrics.claimed([], now)
    r = metrics.registry
    assert _value(r, "workhorse_jobs_started_total", queue="mail", task="send") == 2
    assert _value(r, "workhorse_jobs_started_total", queue="mail", task="x") == 1
    assert _value(r, "workhorse_job_wait_seconds_count", queue="mail") == 3
    assert _value(r, "workhorse_job_wait_seconds_sum", queue="mail") == 3 + 0.5 + 3
    assert _value(r, "workhorse_job_wait_seconds_bucket", queue="mail", le="1.0") == 1
    assert _value(r, "workhorse_claim_batch_size_count") == 2
    assert _value(r, "workhorse_claim_batch_size_sum") == 3


def test_a_job_due_in_the_future_never_waits_a_negative_time() -> None:
    metrics = WorkerMetrics()
    metrics.claimed([_job(run_at=T0 + timedelta(seconds=10))], T0)
    assert _value(metrics.registry, "workhorse_job_wait_seconds_sum", queue="mail") == 0


def test_finished_counts_each_outcome_and_its_side_counters() -> None:
    metrics = WorkerMetrics()
    job = _job()
    for outcome in (Outcome.SUCCEEDED, Outcome.RETRIED, Outcome.RETRIED, Outcome.DEAD):
        metrics.finished(job, outcome, 0.2)
    metrics.finished(job, Outcome.CANCELLED, None)
    metrics.finished(job, Outcome.LOST, None)
    r = metrics.registry

    def finished(outcome: str) -> float | None:
        return _value(
            r, "workhorse_jobs_finished_total", queue="mail", task="send", outcome=outcome
        )

    assert [finished(o.value) for o in Outcome] == [1, 2, 1, 1, 1]
    assert _value(r, "workhorse_job_retries_total", queue="mail", task="send") == 2
    assert _value(r, "workhorse_jobs_dead_total", queue="mail", task="send") == 1
    assert _value(r, "workhorse_lease_losses_total") == 2
    # Only attempts that ran to an end have a run time.
    assert _value(r, "workhorse_job_run_seconds_count", queue="mail", task="send") == 4


def test_every_outcome_of_a_task_is_exposed_from_its_first_attempt() -> None:
    metrics = WorkerMetrics()
    metrics.finished(_job(), Outcome.SUCCEEDED, 0.1)
    text = generate_latest(metrics.registry).decode()
    for outcome in Outcome:
        assert f'outcome="{outcome.value}"' in text


def test_completed_counts_batches_and_fenced_outcomes_as_lease_losses() -> None:
    metrics = WorkerMetrics()
    metrics.completed(5, 5)
    metrics.completed(4, 1)
    r = metrics.registry
    assert _value(r, "workhorse_completion_batch_size_count") == 2
    assert _value(r, "workhorse_completion_batch_size_sum") == 9
    assert _value(r, "workhorse_lease_losses_total") == 3


def test_slots_gauges() -> None:
    metrics = WorkerMetrics()
    busy = [3]
    metrics.slots.set(8)
    metrics.busy_slots.set_function(lambda: busy[0])
    assert _value(metrics.registry, "workhorse_worker_slots") == 8
    assert _value(metrics.registry, "workhorse_worker_busy_slots") == 3
    busy[0] = 5
    assert _value(metrics.registry, "workhorse_worker_busy_slots") == 5


def _new_job(task: str, queue: str = "default") -> b.NewJob:
    return b.NewJob(
        tenant="acme",
        queue=queue,
        task=task,
        args_json="[]",
        kwargs_json="{}",
        priority=0,
        run_at=T0,
        state=JobState.QUEUED,
        max_attempts=1,
        timeout=None,
        unique_key=None,
    )


def test_enqueued_counts_only_the_jobs_created() -> None:
    metrics = AppMetrics()
    rows = [_new_job("a"), _new_job("a"), _new_job("b", "q")]
    inserted = [
        b.InsertedJob(id=1, created=True),
        b.InsertedJob(id=9, created=False),  # a live job held the unique key
        b.InsertedJob(id=2, created=True),
    ]
    metrics.enqueued(rows, inserted)
    r = metrics.registry
    assert _value(r, "workhorse_jobs_enqueued_total", queue="default", task="a") == 1
    assert _value(r, "workhorse_jobs_enqueued_total", queue="q", task="b") == 1


def test_round_trips_are_timed_per_operation_even_when_they_fail() -> None:
    metrics = AppMetrics()
    metrics.observe_round_trip(Operation.CLAIM, 0.002)
    try:
        with metrics.round_trip(Operation.ENQUEUE):
            raise RuntimeError("database down")
    except RuntimeError:
        pass
    r = metrics.registry
    assert _value(r, "workhorse_db_round_trip_seconds_count", operation="claim") == 1
    assert _value(r, "workhorse_db_round_trip_seconds_count", operation="enqueue") == 1
    assert _value(r, "workhorse_db_round_trip_seconds_count", operation="poll") is None


def test_each_instance_has_its_own_registry() -> None:
    first, second = WorkerMetrics(), WorkerMetrics()
    first.finished(_job(), Outcome.SUCCEEDED, 0.1)
    assert first.registry is not second.registry
    labels = {"queue": "mail", "task": "send", "outcome": "succeeded"}
    assert second.registry.get_sample_value("workhorse_jobs_finished_total", labels) is None
    AppMetrics()
    AppMetrics()  # no clash: nothing is registered globally
