"""The outbox: event_list, destination_*, delivery_*, event_receive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from pgtest import postgres_schema
from workhorse.backends import Backend, open_backend
from workhorse.backends import base as b
from workhorse.backends.ops import events
from workhorse.backends.postgres.connecting import parse_url
from workhorse.jobs import JobState

from .support import T0, Jobs, at, new_job, success

K = b.DestinationKind


def _add(
    backend: Backend,
    tenant: str | None = "acme",
    kind: b.DestinationKind = K.WEBHOOK,
    types: tuple[str, ...] | None = None,
) -> b.Destination:
    params = b.DestinationInsertParams(
        tenant=tenant,
        kind=kind,
        url="https://example.com/hook",
        options={"exchange": "workhorse"} if kind is K.AMQP else {},
        event_types=types,
        secrets=("whsec_one",),
        now=T0,
    )
    return backend.destination_insert(params)


def _events(backend: Backend, tenant: str | None = None) -> list[b.Event]:
    return backend.event_list(b.EventListParams(tenant=tenant))


def _claim(backend: Backend, seconds: float = 0, token: str = "t1") -> list[b.ClaimedDelivery]:
    params = b.DeliveryClaimParams(
        now=at(seconds), limit=100, lease=timedelta(seconds=30), token=token
    )
    return backend.delivery_claim(params)


def _finish(backend: Backend, *outcomes: b.DeliveryOutcome, seconds: float = 1) -> list[int]:
    return backend.delivery_finish_many(
        b.DeliveryFinishManyParams(outcomes=outcomes, now=at(seconds))
    )


def _delivered(claimed: b.ClaimedDelivery, token: str = "t1") -> b.DeliveryOutcome:
    return b.DeliveryOutcome(id=claimed.id, token=token, delivered=True, status=204)


# -- events written with the transition --------------------------------------------------------


def test_event_list_has_an_event_for_each_transition_of_a_subscribed_tenant(
    backend: Backend, jobs: Jobs
) -> None:
    _add(backend)
    ids = {state: jobs.in_state(state) for state in _EVENT_STATES}
    found = _events(backend)
    assert sorted((e.job_id, e.type) for e in found) == sorted(
        (job_id, f"job.{state}") for state, job_id in ids.items()
    )
    assert all(e.tenant == "acme" and e.occurred_at == T0 for e in found)


_EVENT_STATES = (JobState.SUCCEEDED, JobState.DEAD, JobState.RETRYING, JobState.CANCELLED)


def test_event_list_shows_the_job_as_it_ended_without_tracebacks(
    backend: Backend, jobs: Jobs
) -> None:
    _add(backend)
    dead = jobs.in_state(JobState.DEAD)
    ok = jobs.running()
    jobs.finish(success(ok, result_json='{"total": 42}'))
    data: dict[int | None, Any] = {e.job_id: e.data for e in _events(backend)}
    assert data[ok.id]["result"] == {"total": 42}
    assert data[ok.id]["state"] == "succeeded" and data[ok.id]["task"] == "work"
    error = data[dead]["error"]
    assert error == {"attempt": 1, "type": "ValueError", "message": "bad input", "at": error["at"]}
    assert data[dead]["truncated"] == []


def test_event_list_bounds_a_large_result(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    job = jobs.running()
    jobs.finish(success(job, result_json='"' + "x" * 70_000 + '"'))
    [event] = _events(backend)
    assert isinstance(event.data, dict)
    assert event.data["result"] is None and event.data["truncated"] == ["result"]


def test_event_list_is_empty_without_a_subscribed_destination(backend: Backend, jobs: Jobs) -> None:
    _add(backend, tenant="other")
    _add(backend, types=("job.dead",))
    jobs.in_state(JobState.SUCCEEDED)
    jobs.in_state(JobState.CANCELLED)
    assert _events(backend) == []
    assert backend.delivery_list(b.DeliveryListParams()) == []


def test_event_list_of_a_tenant_shows_only_its_events(backend: Backend, jobs: Jobs) -> None:
    _add(backend, tenant=None, kind=K.NATS)
    jobs.in_state(JobState.SUCCEEDED, tenant="acme")
    jobs.in_state(JobState.SUCCEEDED, tenant="globex")
    assert [e.tenant for e in _events(backend, tenant="globex")] == ["globex"]
    assert len(_events(backend)) == 2


def test_event_list_has_nothing_of_a_rolled_back_transition(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    job_id = jobs.insert()
    store: Any = backend._store  # type: ignore[attr-defined]
    query = {"id": job_id, "tenant": None, "now": store.values.time(T0)}
    with pytest.raises(RuntimeError), store.transaction() as tx:
        assert tx.count("job_cancel", query) == 1
        events.record(tx, [job_id], query["now"])
        raise RuntimeError("rolled back")
    assert jobs.state(job_id) is JobState.QUEUED
    assert _events(backend) == []


def test_event_list_has_nothing_of_a_fenced_off_outcome(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    job = jobs.running()
    stale = b.Outcome(
        id=job.id, lease_token="stale", attempt=1, state=JobState.SUCCEEDED, result_json="1"
    )
    assert jobs.finish(stale) == []
    assert _events(backend) == []


def test_event_list_after_an_id(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    for _ in range(3):
        jobs.in_state(JobState.CANCELLED)
    first, *rest = _events(backend)
    after = backend.event_list(b.EventListParams(after_id=first.id, limit=1))
    assert after == rest[:1]


# -- destinations ------------------------------------------------------------------------------


def test_destination_insert_returns_it_as_stored(backend: Backend) -> None:
    made = _add(backend, kind=K.AMQP, types=("job.dead", "job.succeeded"))
    assert made == b.Destination(
        id=made.id,
        tenant="acme",
        kind=K.AMQP,
        url="https://example.com/hook",
        options={"exchange": "workhorse"},
        event_types=("job.dead", "job.succeeded"),
        secrets=("whsec_one",),
        disabled_at=None,
        disabled_reason=None,
        created_at=T0,
    )


def test_destination_list_filters_by_tenant_and_kind(backend: Backend) -> None:
    mine = _add(backend)
    theirs = _add(backend, tenant="globex")
    sink = _add(backend, tenant=None, kind=K.NATS)
    assert backend.destination_list(b.DestinationListParams()) == [mine, theirs, sink]
    assert backend.destination_list(b.DestinationListParams(tenant="acme")) == [mine]
    kinds = b.DestinationListParams(kinds=(K.NATS, K.AMQP))
    assert backend.destination_list(kinds) == [sink]


def test_destination_delete_of_another_tenant_is_refused(backend: Backend, jobs: Jobs) -> None:
    mine = _add(backend)
    jobs.in_state(JobState.SUCCEEDED)
    assert not backend.destination_delete(b.DestinationDeleteParams(id=mine.id, tenant="globex"))
    assert backend.destination_delete(b.DestinationDeleteParams(id=mine.id, tenant="acme"))
    assert backend.destination_list(b.DestinationListParams()) == []
    assert backend.delivery_list(b.DeliveryListParams()) == []


def test_destination_update_enables_and_rotates(backend: Backend, jobs: Jobs) -> None:
    dest = _add(backend)
    jobs.in_state(JobState.SUCCEEDED)
    [claimed] = _claim(backend)
    gave_up = b.DeliveryOutcome(
        id=claimed.id, token="t1", delivered=False, error="boom", disable_reason="kept failing"
    )
    _finish(backend, gave_up)
    [disabled] = backend.destination_list(b.DestinationListParams())
    assert disabled.disabled_at == at(1) and disabled.disabled_reason == "kept failing"
    rotate = b.DestinationUpdateParams(
        id=dest.id, tenant="acme", enable=True, secrets=("whsec_two", "whsec_one"), now=at(2)
    )
    updated = backend.destination_update(rotate)
    assert updated is not None and updated.disabled_at is None
    assert updated.secrets == ("whsec_two", "whsec_one")
    other = b.DestinationUpdateParams(id=dest.id, tenant="globex", enable=True, now=at(2))
    assert backend.destination_update(other) is None


# -- deliveries --------------------------------------------------------------------------------


def test_delivery_claim_takes_each_due_delivery_once(backend: Backend, jobs: Jobs) -> None:
    webhook = _add(backend)
    sink = _add(backend, tenant=None, kind=K.NATS)
    job_id = jobs.in_state(JobState.SUCCEEDED)
    claimed = _claim(backend)
    assert sorted(c.destination.id for c in claimed) == [webhook.id, sink.id]
    assert all(c.event.job_id == job_id and c.attempt == 1 for c in claimed)
    assert _claim(backend, seconds=10, token="t2") == []
    again = _claim(backend, seconds=31, token="t3")
    assert [c.attempt for c in again] == [2, 2]


def test_postgres_delivery_claim_passes_over_rows_another_dispatcher_holds() -> None:
    """Rows a racing dispatcher has locked are skipped before the claim's limit: the other
    dispatcher takes the next due rows instead of nothing."""
    with postgres_schema() as url:
        backend = open_backend(url, auto_migrate=True)
        try:
            _add(backend)
            jobs = Jobs(backend)
            first, second = (jobs.in_state(JobState.SUCCEEDED) for _ in range(2))
            held = "SELECT id FROM workhorse_deliveries WHERE job_id = %s FOR UPDATE"
            with psycopg.connect(parse_url(url).conninfo) as other:
                other.execute(held, [first])  # a transaction left open: the lock is held
                params = b.DeliveryClaimParams(
                    now=at(0), limit=1, lease=timedelta(seconds=30), token="t1"
                )
                claimed = backend.delivery_claim(params)
            assert [c.event.job_id for c in claimed] == [second]
        finally:
            backend.close()


def test_delivery_claim_sends_a_jobs_events_in_order(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    job = jobs.running()
    retry_at = at(5)
    jobs.finish(b.Outcome(id=job.id, lease_token=job.lease_token, attempt=1,
                          state=JobState.RETRYING, run_at=retry_at))  # fmt: skip
    jobs.backend.job_promote(b.JobPromoteParams(now=retry_at, limit=10))
    again = jobs.claim_one(job.id, now=retry_at)
    jobs.finish(success(again), now=retry_at)
    [first] = _claim(backend, seconds=10)
    assert first.event.type == "job.retrying"
    failed = b.DeliveryOutcome(id=first.id, token="t1", delivered=False, next_at=at(20))
    _finish(backend, failed, seconds=11)
    assert _claim(backend, seconds=12, token="t2") == []
    [retried] = _claim(backend, seconds=20, token="t3")
    assert retried.id == first.id
    _finish(backend, _delivered(retried, "t3"), seconds=21)
    [second] = _claim(backend, seconds=22, token="t4")
    assert second.event.type == "job.succeeded"


def test_delivery_claim_skips_disabled_destinations(backend: Backend, jobs: Jobs) -> None:
    dest = _add(backend)
    jobs.in_state(JobState.CANCELLED)
    [claimed] = _claim(backend)
    gave_up = b.DeliveryOutcome(id=claimed.id, token="t1", delivered=False, disable_reason="x")
    _finish(backend, gave_up)
    backend.delivery_redeliver(b.DeliveryRedeliverParams(id=claimed.id, now=at(2)))
    assert _claim(backend, seconds=3, token="t2") == []
    backend.destination_update(b.DestinationUpdateParams(id=dest.id, enable=True, now=at(4)))
    assert [c.id for c in _claim(backend, seconds=5, token="t3")] == [claimed.id]


def test_delivery_finish_many_records_outcomes_under_their_claim(
    backend: Backend, jobs: Jobs
) -> None:
    _add(backend)
    for _ in range(3):
        jobs.in_state(JobState.SUCCEEDED)
    first, second, third = _claim(backend)
    outcomes = [
        _delivered(first),
        b.DeliveryOutcome(id=second.id, token="t1", delivered=False, status=500, next_at=at(60)),
        b.DeliveryOutcome(id=third.id, token="t1", delivered=False, error="refused"),
        b.DeliveryOutcome(id=third.id, token="stale", delivered=True),
    ]
    assert _finish(backend, *outcomes) == [first.id, second.id, third.id]
    by_id = {d.id: d for d in backend.delivery_list(b.DeliveryListParams())}
    assert by_id[first.id].state is b.DeliveryState.DELIVERED
    assert by_id[first.id].delivered_at == at(1) and by_id[first.id].last_status == 204
    assert by_id[second.id].state is b.DeliveryState.PENDING
    assert by_id[second.id].next_at == at(60) and by_id[second.id].last_status == 500
    assert by_id[third.id].state is b.DeliveryState.FAILED
    assert by_id[third.id].last_error == "refused"


def test_delivery_list_is_per_tenant_newest_first(backend: Backend, jobs: Jobs) -> None:
    mine = _add(backend)
    _add(backend, tenant="globex")
    for tenant in ("acme", "globex", "acme"):
        jobs.in_state(JobState.SUCCEEDED, tenant=tenant)
    found = backend.delivery_list(b.DeliveryListParams(tenant="acme"))
    assert [d.tenant for d in found] == ["acme", "acme"]
    assert found[0].id > found[1].id and found[0].event_type == "job.succeeded"
    assert all(d.destination_id == mine.id for d in found)
    page = b.DeliveryListParams(tenant="acme", before_id=found[0].id)
    assert backend.delivery_list(page) == found[1:]
    pending = b.DeliveryListParams(state=b.DeliveryState.DELIVERED)
    assert backend.delivery_list(pending) == []


def test_delivery_redeliver_makes_it_due_again(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    jobs.in_state(JobState.SUCCEEDED)
    [claimed] = _claim(backend)
    _finish(backend, _delivered(claimed))
    assert backend.delivery_redeliver(
        b.DeliveryRedeliverParams(id=claimed.id, tenant="globex", now=at(5))
    ) is None  # fmt: skip
    again = backend.delivery_redeliver(
        b.DeliveryRedeliverParams(id=claimed.id, tenant="acme", now=at(5))
    )
    assert again is not None and again.state is b.DeliveryState.PENDING
    assert again.attempts == 0 and again.next_at == at(5)
    [claimed_again] = _claim(backend, seconds=5, token="t2")
    assert claimed_again.attempt == 1


def test_delivery_attempt_list_is_the_delivery_log(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    jobs.in_state(JobState.SUCCEEDED)
    [claimed] = _claim(backend)
    retry = b.DeliveryOutcome(
        id=claimed.id, token="t1", delivered=False, status=503, error="busy", next_at=at(2)
    )
    _finish(backend, retry)
    [again] = _claim(backend, seconds=2, token="t2")
    _finish(backend, _delivered(again, "t2"), seconds=3)
    log = backend.delivery_attempt_list(b.DeliveryAttemptListParams(id=claimed.id))
    assert log == [
        b.DeliveryAttempt(at=at(1), status=503, error="busy"),
        b.DeliveryAttempt(at=at(3), status=204, error=None),
    ]
    theirs = b.DeliveryAttemptListParams(id=claimed.id, tenant="globex")
    assert backend.delivery_attempt_list(theirs) == []


def test_delivery_backlog_counts_pending_by_kind(backend: Backend, jobs: Jobs) -> None:
    _add(backend)
    _add(backend, tenant=None, kind=K.AMQP)
    jobs.in_state(JobState.SUCCEEDED)
    jobs.in_state(JobState.DEAD)
    backlog = backend.delivery_backlog(b.DeliveryBacklogParams(now=at(1)))
    assert backlog == [
        b.BacklogCount(kind=K.AMQP, pending=2, oldest_at=T0),
        b.BacklogCount(kind=K.WEBHOOK, pending=2, oldest_at=T0),
    ]


# -- events in ---------------------------------------------------------------------------------


def test_event_receive_inserts_its_jobs_once(backend: Backend, jobs: Jobs) -> None:
    def receive() -> b.ReceivedEvent:
        params = b.EventReceiveParams(
            tenant="acme",
            event_id="order-42",
            type="order.created",
            jobs=[new_job(task="ship"), new_job(task="bill")],
            now=T0,
        )
        return backend.event_receive(params)

    first = receive()
    assert first.created and all(job.created for job in first.jobs)
    again = receive()
    assert not again.created
    assert [job.id for job in again.jobs] == [job.id for job in first.jobs]
    assert len(jobs.all()) == 2
