"""worker_heartbeat, worker_list and worker_delete: the worker registry."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.scheduling.pruner import forget_workers

from .support import at


def _heartbeat(backend: Backend, worker: str, seconds: float, started: float = 0) -> None:
    backend.worker_heartbeat(
        b.WorkerHeartbeatParams(
            id=worker,
            host="box-1",
            pid=4242,
            queues=["default", "emails"],
            concurrency=8,
            now=at(seconds),
            started_at=at(started),
        )
    )


def _list(backend: Backend, seen_after: float | None = None) -> list[b.WorkerInfo]:
    after = None if seen_after is None else at(seen_after)
    return backend.worker_list(b.WorkerListParams(seen_after=after))


def test_worker_heartbeat_registers_a_worker(backend: Backend) -> None:
    assert _list(backend) == []
    _heartbeat(backend, "w1", 5, started=1)
    assert _list(backend) == [
        b.WorkerInfo(
            id="w1",
            host="box-1",
            pid=4242,
            queues=["default", "emails"],
            concurrency=8,
            started_at=at(1),
            last_seen_at=at(5),
        )
    ]


def test_worker_heartbeat_refreshes_last_seen(backend: Backend) -> None:
    _heartbeat(backend, "w1", 5, started=1)
    _heartbeat(backend, "w1", 15, started=1)
    [worker] = _list(backend)
    assert (worker.started_at, worker.last_seen_at) == (at(1), at(15))


def test_worker_list_is_ordered_by_start_and_filters_by_last_seen(backend: Backend) -> None:
    _heartbeat(backend, "late", 50, started=20)
    _heartbeat(backend, "early", 10, started=0)
    assert [w.id for w in _list(backend)] == ["early", "late"]
    assert [w.id for w in _list(backend, seen_after=10)] == ["late"]
    assert _list(backend, seen_after=50) == []


def test_worker_delete_by_id(backend: Backend) -> None:
    _heartbeat(backend, "w1", 5)
    _heartbeat(backend, "w2", 5)
    assert backend.worker_delete(b.WorkerDeleteParams(id="w1")) == 1
    assert backend.worker_delete(b.WorkerDeleteParams(id="w1")) == 0
    assert [w.id for w in _list(backend)] == ["w2"]


def test_worker_delete_by_last_seen(backend: Backend) -> None:
    _heartbeat(backend, "gone", 5)
    _heartbeat(backend, "edge", 10)
    _heartbeat(backend, "alive", 60)
    assert backend.worker_delete(b.WorkerDeleteParams(seen_before=at(10))) == 1
    assert {w.id for w in _list(backend)} == {"edge", "alive"}


def test_worker_delete_without_criteria_deletes_nothing(backend: Backend) -> None:
    _heartbeat(backend, "w1", 5)
    assert backend.worker_delete(b.WorkerDeleteParams()) == 0
    assert len(_list(backend)) == 1


def test_forget_workers_removes_the_silent_ones(backend: Backend) -> None:
    _heartbeat(backend, "silent", 0)
    _heartbeat(backend, "alive", 100)
    assert forget_workers(backend, at(120), timedelta(minutes=1)) == 1
    assert [w.id for w in _list(backend)] == ["alive"]
