"""event_prune and the pruner: old events go with their deliveries and delivery log once every
destination is done with them; an event still waited for stays, however old."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.scheduling import pruner

from .support import Jobs, at

K = b.DestinationKind


def _subscribe(backend: Backend, kind: b.DestinationKind = K.WEBHOOK) -> b.Destination:
    params = b.DestinationInsertParams(
        tenant="acme",
        kind=kind,
        url="https://example.com/hook",
        options={},
        event_types=None,
        secrets=("whsec_one",),
        now=at(0),
    )
    return backend.destination_insert(params)


def _prune(backend: Backend, before: float, limit: int = 100) -> int:
    return backend.event_prune(b.EventPruneParams(occurred_before=at(before), limit=limit))


def _event_ids(backend: Backend) -> list[int | None]:
    return [e.job_id for e in backend.event_list(b.EventListParams())]


def _settle(backend: Backend, now: float, *, delivered: set[int | None]) -> None:
    """Claim every due delivery at ``now``: those of jobs in ``delivered`` are delivered, the
    others given up on (failed)."""
    params = b.DeliveryClaimParams(now=at(now), limit=100, lease=timedelta(seconds=30), token="t")
    outcomes = [
        b.DeliveryOutcome(id=d.id, token="t", delivered=d.event.job_id in delivered)
        for d in backend.delivery_claim(params)
    ]
    backend.delivery_finish_many(b.DeliveryFinishManyParams(outcomes=outcomes, now=at(now)))


def test_event_prune_deletes_old_events_every_destination_is_done_with(
    backend: Backend, jobs: Jobs
) -> None:
    _subscribe(backend)
    _subscribe(backend, K.NATS)
    delivered = jobs.in_state(JobState.SUCCEEDED, now=at(10))
    jobs.in_state(JobState.DEAD, now=at(10))  # its deliveries are given up on
    recent = jobs.in_state(JobState.CANCELLED, now=at(100))
    _settle(backend, 200, delivered={delivered, recent})
    assert len(backend.delivery_list(b.DeliveryListParams())) == 6
    assert _prune(backend, 10) == 0, "occurred exactly at the cut-off is kept"
    assert _prune(backend, 50) == 2
    assert _event_ids(backend) == [recent]
    remaining = backend.delivery_list(b.DeliveryListParams())
    assert {d.job_id for d in remaining} == {recent}
    attempts = backend.delivery_attempt_list(b.DeliveryAttemptListParams(id=remaining[0].id))
    assert len(attempts) == 1


def test_event_prune_keeps_an_event_some_destination_still_waits_for(
    backend: Backend, jobs: Jobs
) -> None:
    _subscribe(backend)
    late = _subscribe(backend, K.NATS)
    job_id = jobs.in_state(JobState.SUCCEEDED, now=at(0))
    params = b.DeliveryClaimParams(now=at(1), limit=100, lease=timedelta(seconds=30), token="t")
    claimed = backend.delivery_claim(params)
    outcomes = [
        b.DeliveryOutcome(
            id=d.id,
            token="t",
            delivered=d.destination.id != late.id,
            error="connection refused",
            next_at=at(60),
        )
        for d in claimed
    ]
    backend.delivery_finish_many(b.DeliveryFinishManyParams(outcomes=outcomes, now=at(1)))
    assert _prune(backend, 1_000_000) == 0
    assert _event_ids(backend) == [job_id]


def test_event_prune_respects_the_limit(backend: Backend, jobs: Jobs) -> None:
    _subscribe(backend)
    for i in range(5):
        jobs.in_state(JobState.CANCELLED, now=at(i))
    _settle(backend, 10, delivered={None} | {j.id for j in jobs.all()})
    assert _prune(backend, 100, limit=2) == 2
    assert len(_event_ids(backend)) == 3


def test_prune_events_deletes_everything_settled_past_retention_in_batches(
    backend: Backend, jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pruner, "BATCH", 2)
    _subscribe(backend)
    old = [jobs.in_state(JobState.SUCCEEDED, now=at(i)) for i in range(5)]
    _settle(backend, 10, delivered=set(old))
    kept = jobs.in_state(JobState.SUCCEEDED, now=at(3600))
    _settle(backend, 3610, delivered={kept})
    waiting = jobs.in_state(JobState.DEAD, now=at(0))
    assert pruner.prune_events(backend, at(3700), timedelta(minutes=10)) == 5
    assert sorted(_event_ids(backend), key=str) == sorted([kept, waiting], key=str)
