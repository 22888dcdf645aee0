"""``app.admin``, the operator's surface, over each backend: it reads and changes the app's store
with the app's clock."""

from __future__ import annotations

import pytest

from workhorse import Workhorse
from workhorse import admin as admin_module
from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.tasks import Task

from .conftest import FixedClock
from .support import Jobs, at, failure


def test_queue_counts_by_tenant(app: Workhorse, work: Task[[int], int]) -> None:
    work.with_options(tenant="acme").enqueue(1)
    work.with_options(tenant="acme").enqueue(2)
    work.with_options(tenant="globex", queue="mail").enqueue(3)
    counts = {(c.tenant, c.queue, c.state): c.count for c in app.admin.queue_counts()}
    assert counts == {
        ("acme", "default", JobState.QUEUED): 2,
        ("globex", "mail", JobState.QUEUED): 1,
    }
    assert [c.tenant for c in app.admin.queue_counts(tenant="globex")] == ["globex"]


def test_workers_and_their_running_jobs(app: Workhorse, jobs: Jobs) -> None:
    heartbeat = b.WorkerHeartbeatParams(
        id="w1", host="box", pid=1, queues=["default"], concurrency=4, now=at(0), started_at=at(0)
    )
    app.backend.worker_heartbeat(heartbeat)
    jobs.running(worker="w1")
    assert [w.id for w in app.admin.list_workers()] == ["w1"]
    assert app.admin.running_by_worker() == {"w1": 1}


def test_api_keys_are_created_listed_checked_and_revoked_at_the_apps_time(
    app: Workhorse, clock: FixedClock
) -> None:
    new = app.admin.create_api_key(tenant="acme", name="ci")
    assert (new.key.tenant, new.key.name, new.key.created_at) == ("acme", "ci", at(0))
    assert [key.id for key in app.admin.list_api_keys()] == [new.key.id]
    found = app.admin.authenticate(new.token)
    assert found is not None and found.id == new.key.id
    clock.now = at(60)
    revoked = app.admin.revoke_api_key(new.key.prefix)
    assert revoked is not None and revoked.revoked_at == at(60)
    assert app.admin.authenticate(new.token) is None
    assert app.admin.revoke_api_key("wh_000000000000") is None


def test_redrive_works_through_every_batch(
    app: Workhorse, jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_module, "REDRIVE_BATCH", 2)
    dead = [jobs.running() for _ in range(5)]
    assert jobs.finish(*(failure(job) for job in dead)) == [job.id for job in dead]
    assert app.admin.redrive(b.RedriveAction.RETRY, dry_run=True) == 5
    assert app.admin.redrive(b.RedriveAction.RETRY) == 5
    assert {jobs.state(job.id) for job in dead} == {JobState.QUEUED}


def test_storage_vacuum_keeps_the_jobs(app: Workhorse, work: Task[[int], int]) -> None:
    handle = work.enqueue(1)
    app.admin.storage_vacuum()
    assert app.get_job(handle.id).state is JobState.QUEUED


def test_storage_prepare_keeps_every_ended_job(
    app: Workhorse, jobs: Jobs, clock: FixedClock
) -> None:
    """It creates the days ahead, as the maintenance does, and drops none, however old: jobs
    that ended on a day it prepared are still there when it runs ten days later."""
    app.admin.storage_prepare()
    dead = [jobs.running(now=at(0)) for _ in range(3)]
    assert jobs.finish(*(failure(job) for job in dead), now=at(0)) == [job.id for job in dead]
    clock.now = at(10 * 86400)
    app.admin.storage_prepare()
    assert {jobs.state(job.id) for job in dead} == {JobState.DEAD}
