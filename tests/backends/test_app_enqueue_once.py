"""``enqueue_many(idempotency=…)``: once per key, over each backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse import Workhorse
from workhorse.errors import ConfigurationError, IdempotencyConflictError
from workhorse.jobs import JobHandle
from workhorse.tasks import Idempotency, Task

from .conftest import FixedClock
from .support import at


def _once(key: str = "order-7", request: str = "body-a", scope: str = "acme") -> Idempotency:
    return Idempotency(scope=scope, key=key, request_hash=request, ttl=timedelta(hours=1))


def _enqueued(app: Workhorse) -> float | None:
    return app.metrics.registry.get_sample_value(
        "workhorse_jobs_enqueued_total", {"queue": "default", "task": "work"}
    )


def test_a_repeat_returns_the_first_calls_jobs_and_stores_nothing(
    app: Workhorse, work: Task[[int], int]
) -> None:
    first = app.enqueue_many([work.prepare(1), work.prepare(2)], idempotency=_once())
    again = app.enqueue_many([work.prepare(1), work.prepare(2)], idempotency=_once())
    assert [(h.created, h.replayed) for h in first] == [(True, False)] * 2
    assert again == [JobHandle(h.id, created=False, replayed=True) for h in first]
    assert len(app.list_jobs()) == 2
    assert _enqueued(app) == 2, "a replay is not counted as enqueued"


def test_the_key_with_another_request_is_a_conflict(app: Workhorse, work: Task[[int], int]) -> None:
    app.enqueue_many([work.prepare(1)], idempotency=_once())
    with pytest.raises(IdempotencyConflictError, match="'order-7'"):
        app.enqueue_many([work.prepare(1)], idempotency=_once(request="body-b"))
    assert len(app.list_jobs()) == 1
    assert _enqueued(app) == 1


def test_keys_of_other_scopes_and_expired_keys_enqueue_again(
    app: Workhorse, work: Task[[int], int], clock: FixedClock
) -> None:
    [first] = app.enqueue_many([work.prepare(1)], idempotency=_once())
    [other] = app.enqueue_many([work.prepare(1)], idempotency=_once(scope="globex"))
    clock.now = at(3601)
    [later] = app.enqueue_many([work.prepare(1)], idempotency=_once())
    assert len({first.id, other.id, later.id}) == 3
    assert other.created and later.created and not later.replayed


def test_idempotency_and_the_callers_connection_do_not_mix(
    app: Workhorse, work: Task[[int], int]
) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        app.enqueue_many([work.prepare(1)], connection=object(), idempotency=_once())
    assert app.list_jobs() == []


@pytest.mark.parametrize(
    ("key", "ttl", "message"),
    [("", timedelta(hours=1), "must not be empty"), ("k", timedelta(0), "ttl must be positive")],
)
def test_an_idempotency_key_is_checked_eagerly(key: str, ttl: timedelta, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Idempotency(scope="", key=key, request_hash="h", ttl=ttl)
