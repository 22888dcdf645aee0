"""Webhooks end to end: jobs end, the dispatcher delivers their events to a loopback receiver
that checks every signature."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from workhorse import Workhorse
from workhorse.backends import base as b
from workhorse.jobs import JobState

from .events_support import FAST, Receiver, database, dispatch_until


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workhorse]:
    with database(request.param, tmp_path) as url:
        app = Workhorse(url)
        app.migrate()

        @app.task()
        def work() -> None:
            """Never run: the tests end its jobs by hand."""

        app.dispatcher_config = FAST
        yield app
        app.close()


@pytest.fixture(autouse=True)
def _allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKHORSE_WEBHOOKS_ALLOW_PRIVATE", "1")


def _end_jobs(app: Workhorse, count: int, tenant: str = "acme") -> list[int]:
    """``count`` jobs of ``tenant``, each cancelled (a terminal transition, with its event)."""
    ids = [app.enqueue("work", tenant=tenant).id for _ in range(count)]
    for job_id in ids:
        app.cancel(job_id)
    return ids


def test_a_receiver_that_fails_three_times_gets_every_event(app: Workhorse) -> None:
    with Receiver(fail_first=3) as receiver:
        receiver.secret = app.events.add_webhook("acme", receiver.url).secret
        ids = _end_jobs(app, 20)
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) >= len(ids)))
    assert sorted(event["job"]["id"] for event in receiver.received) == sorted(ids)
    assert len(set(receiver.ids())) == len(ids)
    assert set(receiver.tries.values()) == {4}
    assert receiver.bad_signatures == 0
    delivered = app.events.deliveries(state=b.DeliveryState.DELIVERED, limit=100)
    assert len(delivered) == len(ids)
    log = app.events.attempts(delivered[0].id)
    assert [attempt.status for attempt in log] == [500, 500, 500, 204]


def test_an_endpoint_that_keeps_failing_is_disabled_with_a_reason(app: Workhorse) -> None:
    with Receiver(fail_first=100) as receiver:
        hook = app.events.add_webhook("acme", receiver.url)
        receiver.secret = hook.secret
        _end_jobs(app, 1)
        asyncio.run(dispatch_until(app, lambda: bool(app.events.webhooks()[0].disabled_at)))
    [endpoint] = app.events.webhooks()
    assert endpoint.disabled_reason is not None and "after 6 attempts" in endpoint.disabled_reason
    [failed] = app.events.deliveries()
    assert failed.state is b.DeliveryState.FAILED and failed.last_status == 500


def test_redeliver_sends_a_delivered_event_again(app: Workhorse) -> None:
    with Receiver() as receiver:
        receiver.secret = app.events.add_webhook("acme", receiver.url).secret
        _end_jobs(app, 1)
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) == 1))
        [delivery] = app.events.deliveries()
        assert app.events.redeliver(delivery.id, tenant="globex") is None
        assert app.events.redeliver(delivery.id, tenant="acme") is not None
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) == 2))
    assert receiver.ids()[0] == receiver.ids()[1]


def test_a_rotated_secret_signs_with_both_until_the_rotation_ends(app: Workhorse) -> None:
    with Receiver() as receiver:
        hook = app.events.add_webhook("acme", receiver.url)
        rotated = app.events.rotate_secret(hook.destination.id, tenant="acme")
        assert rotated is not None
        receiver.secret = hook.secret  # the old secret still verifies during the overlap
        _end_jobs(app, 1)
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) == 1))
        app.events.finish_rotation(hook.destination.id)
        receiver.secret = rotated.secret
        _end_jobs(app, 1)
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) == 2))
    assert receiver.bad_signatures == 0


def _fail(app: Workhorse, job_id: int, *, retry: bool) -> None:
    """Claim job ``job_id`` and record a failed attempt: retrying (due at once) or dead."""
    backend, now = app.backend, app.clock()
    claim = b.JobClaimParams(
        worker_id="w", queues=["default"], limit=1, lease_token=f"t{retry}",
        lease_for=timedelta(seconds=30), now=now,
    )  # fmt: skip
    [job] = backend.job_claim(claim)
    state = JobState.RETRYING if retry else JobState.DEAD
    error = b.ErrorRecord(type="ValueError", message="no", traceback="")
    outcome = b.Outcome(id=job.id, lease_token=job.lease_token, attempt=job.attempt, state=state,
                        error=error, run_at=now if retry else None)  # fmt: skip
    assert backend.job_finish_many(b.JobFinishManyParams(outcomes=[outcome], now=now)) == [job_id]
    backend.job_promote(b.JobPromoteParams(now=now, limit=10))


def test_a_jobs_events_arrive_in_order(app: Workhorse) -> None:
    with Receiver(fail_first=2) as receiver:
        receiver.secret = app.events.add_webhook("acme", receiver.url).secret
        job_id = app.enqueue("work", tenant="acme").id
        _fail(app, job_id, retry=True)
        _fail(app, job_id, retry=False)
        asyncio.run(dispatch_until(app, lambda: len(receiver.ids()) == 2))
    assert [e["type"] for e in receiver.received] == ["job.retrying", "job.dead"]
    assert {e["job"]["id"] for e in receiver.received} == {job_id}
    assert receiver.received[1]["job"]["error"]["message"] == "no"


def test_tenants_see_only_their_endpoints_and_deliveries(app: Workhorse) -> None:
    with Receiver() as receiver:
        mine = app.events.add_webhook("acme", receiver.url)
        theirs = app.events.add_webhook("globex", receiver.url)
        _end_jobs(app, 1, tenant="acme")
        _end_jobs(app, 1, tenant="globex")
    assert [d.id for d in app.events.webhooks(tenant="acme")] == [mine.destination.id]
    assert {d.tenant for d in app.events.deliveries(tenant="acme")} == {"acme"}
    assert {e.tenant for e in app.events.history(tenant="acme")} == {"acme"}
    assert not app.events.remove(theirs.destination.id, tenant="acme")
    assert app.events.enable(theirs.destination.id, tenant="acme") is None
    assert app.events.rotate_secret(theirs.destination.id, tenant="acme") is None
