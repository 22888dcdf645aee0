"""``POST /v1/jobs/redrive``: retry or cancel dead jobs in bulk by filter, with a dry run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workhorse.jobs import JobState

from .support import Api, error_of


def _redrive(api: Api, key: str | None = "acme", **body: Any) -> dict[str, Any]:
    """Redrive with the key of tenant ``key`` (None: an admin key)."""
    response = api.client(key).post("/v1/jobs/redrive", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_dry_run_counts_and_changes_nothing(api: Api) -> None:
    dead = [api.dead() for _ in range(3)]
    result = _redrive(api, action="retry", dry_run=True)
    assert result == {"action": "retry", "dry_run": True, "count": 3}
    assert {api.app.get_job(job_id).state for job_id in dead} == {JobState.DEAD}


def test_retry_by_task_and_error_type(api: Api) -> None:
    key_errors = [api.dead("add", error_type="KeyError") for _ in range(2)]
    value_error = api.dead("add", error_type="ValueError")
    other_task = api.dead("send", error_type="KeyError")
    result = _redrive(api, action="retry", task="add", error_type="KeyError")
    assert result["count"] == 2
    states = {job.id: job.state for job in api.app.list_jobs()}
    assert {states[i] for i in key_errors} == {JobState.QUEUED}
    assert (states[value_error], states[other_task]) == (JobState.DEAD, JobState.DEAD)


def test_cancel_by_queue_and_time_range(api: Api) -> None:
    early = api.dead("send")
    api.clock.advance(timedelta(hours=1))
    middle = api.dead("send")
    late_other_queue = api.dead("add")
    start = (api.clock() - timedelta(minutes=1)).isoformat()
    end = (api.clock() + timedelta(minutes=1)).isoformat()
    body = {"action": "cancel", "queue": "mail", "finished_after": start, "finished_before": end}
    assert _redrive(api, **body)["count"] == 1
    assert api.app.get_job(middle).state is JobState.CANCELLED
    assert api.app.get_job(early).state is JobState.DEAD
    assert api.app.get_job(late_other_queue).state is JobState.DEAD


def test_admin_redrives_one_tenant_or_all(api: Api) -> None:
    acme, globex = api.dead(tenant="acme"), api.dead(tenant="globex")
    assert _redrive(api, None, action="retry", tenant="globex")["count"] == 1
    assert api.app.get_job(acme).state is JobState.DEAD
    assert api.app.get_job(globex).state is JobState.QUEUED
    api.dead(tenant="initech")
    assert _redrive(api, None, action="cancel", dry_run=True)["count"] == 2


def test_redrive_rejects_bad_requests(api: Api) -> None:
    client = api.client()
    for body in (
        {"action": "delete"},
        {},
        {"action": "retry", "dry_run": "yes"},
        {"action": "retry", "finished_after": "2030-01-01T00:00:00"},
    ):
        response = client.post("/v1/jobs/redrive", json=body)
        assert error_of(response) == (422, "invalid_request"), body
