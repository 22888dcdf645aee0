"""``POST /v1/jobs`` with ``after`` and ``on_parent_failure``: a job that waits for its tenant's
jobs, refused (and nothing stored) when a parent is unknown or another tenant's."""

from __future__ import annotations

from typing import Any

import pytest

from workhorse.jobs import JobState

from .support import Api, error_of


def _create(api: Api, tenant: str | None = "acme", **body: Any) -> Any:
    return api.client(tenant).post("/v1/jobs", json={"task": "add", "args": [1, 2], **body})


def test_a_job_after_others_is_blocked_until_they_succeed(api: Api) -> None:
    first, second = api.enqueue(), api.enqueue()
    created = _create(api, after=[first, second])
    assert created.status_code == 201, created.text
    child = created.json()["id"]
    assert created.json()["state"] == "blocked"
    api.finish(first, JobState.SUCCEEDED)
    assert api.app.get_job(child).state is JobState.BLOCKED
    api.finish(second, JobState.SUCCEEDED)
    assert api.client("acme").get(f"/v1/jobs/{child}").json()["state"] == "queued"
    assert api.app.parent_results(child) == {first: 3, second: 3}


@pytest.mark.parametrize(
    ("on_parent_failure", "state"),
    [(None, JobState.CANCELLED), ("cancel", JobState.CANCELLED), ("run", JobState.QUEUED)],
)
def test_a_failed_parent_cancels_the_job_unless_it_runs_anyway(
    api: Api, on_parent_failure: str | None, state: JobState
) -> None:
    parent = api.enqueue(max_attempts=1)
    body = {} if on_parent_failure is None else {"on_parent_failure": on_parent_failure}
    child = _create(api, after=[parent], **body).json()["id"]
    api.finish(parent, JobState.DEAD)
    assert api.app.get_job(child).state is state


def test_a_job_after_a_job_that_already_succeeded_is_queued_at_once(api: Api) -> None:
    parent = api.enqueue()
    api.finish(parent, JobState.SUCCEEDED)
    created = _create(api, after=[parent])
    assert (created.status_code, created.json()["state"]) == (201, "queued")


def test_an_unknown_parent_is_refused_and_nothing_stored(api: Api) -> None:
    parent = api.enqueue()
    response = _create(api, after=[parent, 424242])
    assert error_of(response) == (422, "invalid_request")
    assert "parent job(s) [424242] not found" in response.json()["error"]["message"]
    assert [job.id for job in api.app.list_jobs()] == [parent]


def test_another_tenants_job_reads_as_unknown(api: Api) -> None:
    theirs = api.enqueue(tenant="globex")
    response = _create(api, after=[theirs])
    assert error_of(response) == (422, "invalid_request")
    message = response.json()["error"]["message"]
    assert f"parent job(s) [{theirs}] not found" in message
    assert "globex" not in message
    unknown = _create(api, after=[424242]).json()["error"]["message"]
    assert unknown.replace("424242", str(theirs)) == message  # nothing tells the two apart
    assert [job.id for job in api.app.list_jobs()] == [theirs]
    # An admin key may name the tenant whose jobs they are.
    admin = api.client(None).post(
        "/v1/jobs", json={"task": "add", "args": [1, 2], "tenant": "globex", "after": [theirs]}
    )
    assert (admin.status_code, admin.json()["state"]) == (201, "blocked")


def test_a_batch_names_at_most_ten_thousand_dependencies(api: Api) -> None:
    parents = list(range(1, 1001))
    job = {"task": "add", "args": [1, 1], "after": parents}
    refused = api.client("acme").post("/v1/jobs/batch", json={"jobs": [job] * 11})
    assert error_of(refused) == (422, "invalid_request")
    assert "at most 10000 dependencies" in refused.text
    assert api.app.list_jobs() == []


def test_a_batch_names_parents_too_and_is_stored_whole_or_not_at_all(api: Api) -> None:
    parent = api.enqueue()
    ok = {"task": "add", "args": [1, 1], "after": [parent]}
    bad = {"task": "add", "args": [1, 1], "after": [424242]}
    refused = api.client("acme").post("/v1/jobs/batch", json={"jobs": [ok, bad]})
    assert error_of(refused) == (422, "invalid_request")
    assert [job.id for job in api.app.list_jobs()] == [parent]
    stored = api.client("acme").post("/v1/jobs/batch", json={"jobs": [ok, ok]})
    assert stored.status_code == 201
    ids = [job["id"] for job in stored.json()["jobs"]]
    assert {api.app.get_job(job_id).state for job_id in ids} == {JobState.BLOCKED}


@pytest.mark.parametrize(
    "body",
    [
        {"after": [0]},
        {"after": ["1"]},
        {"after": 1},
        {"after": [2**63]},
        {"after": list(range(1, 1002))},
        {"on_parent_failure": "ignore"},
    ],
    ids=["zero", "string", "not-a-list", "too-large", "too-many", "unknown-policy"],
)
def test_malformed_dependencies_are_refused(api: Api, body: dict[str, Any]) -> None:
    assert error_of(_create(api, **body)) == (422, "invalid_request")
    assert api.app.list_jobs() == []


def test_the_openapi_document_describes_after_and_on_parent_failure(api: Api) -> None:
    schemas = api.anonymous().get("/openapi.json").json()["components"]["schemas"]
    job = schemas["JobCreate"]["properties"]
    assert job["after"]["items"]["type"] == "integer"
    assert job["on_parent_failure"]["enum"] == ["cancel", "run"]
    step = schemas["StepCreate"]["properties"]
    assert step["after"]["items"]["type"] == "string"  # a workflow's steps name steps by key


def test_a_parent_named_ahead_of_its_creation_is_unknown_so_no_cycle_can_form(api: Api) -> None:
    last = api.enqueue()
    # The ids this batch's jobs would get: each names the other, or itself.
    cycle = [{"task": "add", "after": [last + 2]}, {"task": "add", "after": [last + 1]}]
    response = api.client("acme").post("/v1/jobs/batch", json={"jobs": cycle})
    assert error_of(response) == (422, "invalid_request")
    assert "not found" in response.json()["error"]["message"]
    itself = _create(api, after=[last + 1])
    assert error_of(itself) == (422, "invalid_request")
    assert [job.id for job in api.app.list_jobs()] == [last]
