"""``POST /v1/jobs/{id}/discard``: cancel one dead job; only dead jobs, only the key's tenant's."""

from __future__ import annotations

from workhorse.jobs import JobState

from .support import Api, error_of


def test_discard_cancels_a_dead_job_and_keeps_its_history(api: Api) -> None:
    dead = api.dead(error_type="KeyError")
    died = api.app.get_job(dead).finished_at
    response = api.client("acme").post(f"/v1/jobs/{dead}/discard")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "cancelled"
    assert [error["type"] for error in body["errors"]] == ["KeyError"]
    assert api.app.get_job(dead).finished_at == died
    again = api.client("acme").post(f"/v1/jobs/{dead}/discard")
    assert (again.status_code, again.json()["state"]) == (200, "cancelled")


def test_discard_refuses_a_job_that_is_not_dead(api: Api) -> None:
    queued = api.enqueue()
    done = api.enqueue()
    api.finish(done, JobState.SUCCEEDED)
    for job_id in (queued, done):
        response = api.client("acme").post(f"/v1/jobs/{job_id}/discard")
        assert error_of(response) == (409, "invalid_transition")
    assert api.app.get_job(queued).state is JobState.QUEUED


def test_discard_of_another_tenants_job_is_not_found(api: Api) -> None:
    dead = api.dead(tenant="acme")
    assert error_of(api.client("globex").post(f"/v1/jobs/{dead}/discard")) == (404, "not_found")
    assert error_of(api.client("acme").post("/v1/jobs/123456789/discard")) == (404, "not_found")
    assert api.app.get_job(dead).state is JobState.DEAD
    assert api.client(None).post(f"/v1/jobs/{dead}/discard").json()["state"] == "cancelled"
