"""periodic_list and periodic_fire: each schedule's slot fires exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.errors import QuotaExceededError
from workhorse.tenants import Tenant

from .conftest import OpenStore
from .support import Jobs, at, new_job


def _fire(
    backend: Backend, slot: datetime, *, job: b.NewJob | None, name: str = "nightly"
) -> b.InsertedJob | None:
    params = b.PeriodicFireParams(name=name, slot=slot, job=job, now=slot)
    return backend.periodic_fire(params)


def _last(backend: Backend) -> dict[str, datetime]:
    return backend.periodic_list(b.PeriodicListParams())


def test_periodic_list_of_a_fresh_store_is_empty(backend: Backend) -> None:
    assert _last(backend) == {}


def test_periodic_fire_without_a_job_records_only_the_first_sighting(backend: Backend) -> None:
    assert _fire(backend, at(60), job=None) is None
    assert _fire(backend, at(120), job=None) is None
    assert _last(backend) == {"nightly": at(60)}
    assert Jobs(backend).all() == []


def test_periodic_fire_inserts_the_job_once_per_slot(backend: Backend) -> None:
    jobs = Jobs(backend)
    _fire(backend, at(0), job=None)
    fired = _fire(backend, at(60), job=new_job(at(60), task="report"))
    assert fired is not None
    assert fired.created
    assert jobs.get(fired.id).task == "report"
    assert _fire(backend, at(60), job=new_job(at(60), task="report")) is None
    assert _fire(backend, at(30), job=new_job(at(60), task="report")) is None, "only forward"
    assert _last(backend) == {"nightly": at(60)}
    assert [job.id for job in jobs.all()] == [fired.id]
    later = _fire(backend, at(120), job=new_job(at(120), task="report"))
    assert later is not None
    assert later.id != fired.id
    assert _last(backend) == {"nightly": at(120)}


def test_periodic_fire_schedules_are_independent(backend: Backend) -> None:
    for name in ("a", "b"):
        _fire(backend, at(0), job=None, name=name)
    assert _fire(backend, at(60), job=new_job(at(60)), name="a") is not None
    assert _fire(backend, at(60), job=new_job(at(60)), name="b") is not None
    assert _last(backend) == {"a": at(60), "b": at(60)}


def test_periodic_fire_past_the_tenants_max_queued_is_refused_and_keeps_the_slot(
    backend: Backend,
) -> None:
    """A fired job is enqueued like any other: past its tenant's ``max_queued`` it is refused
    whole, and the slot stays unfired for the next attempt."""
    backend.tenant_upsert(b.TenantUpsertParams(tenant=Tenant(name="acme", max_queued=1), now=at(0)))
    Jobs(backend).insert(tenant="acme")
    _fire(backend, at(0), job=None)
    with pytest.raises(QuotaExceededError):
        _fire(backend, at(60), job=new_job(at(60), tenant="acme"))
    assert _last(backend) == {"nightly": at(0)}
    assert len(Jobs(backend).all()) == 1


@pytest.mark.pgbouncer
def test_periodic_fire_racing_schedulers_fire_a_slot_once(open_store: OpenStore) -> None:
    schedulers = [open_store() for _ in range(6)]
    _fire(schedulers[0], at(0), job=None)
    start = threading.Barrier(len(schedulers))

    def run(backend: Backend) -> b.InsertedJob | None:
        start.wait(30)
        return _fire(backend, at(60), job=new_job(at(60)))

    with ThreadPoolExecutor(len(schedulers)) as pool:
        results = list(pool.map(run, schedulers))
    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert [job.id for job in Jobs(schedulers[0]).all()] == [winners[0].id]
