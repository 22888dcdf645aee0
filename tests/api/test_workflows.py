"""``/v1/workflows`` and the long poll ``GET /v1/jobs/{id}?wait=``: graphs submitted whole, read,
listed and cancelled, each tenant seeing only its own; a wait that ends with the job."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from workhorse.jobs import JobState

from .support import Api, error_of


def _diamond(tenant: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "diamond",
        "steps": [
            {"key": "top", "task": "add", "args": [1, 2]},
            {"key": "left", "task": "add", "args": [1, 1], "after": ["top"]},
            {"key": "right", "task": "add", "args": [2, 2], "after": ["top"]},
            {"key": "bottom", "task": "add", "args": [0, 0], "after": ["left", "right"]},
        ],
    }
    if tenant is not None:
        body["tenant"] = tenant
    return body


def test_a_workflow_is_created_whole_and_read_with_its_steps(api: Api) -> None:
    created = api.client("acme").post("/v1/workflows", json=_diamond())
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert (workflow["tenant"], workflow["state"], workflow["steps_total"]) == (
        "acme",
        "running",
        4,
    )
    ids = {step["key"]: step["job_id"] for step in workflow["steps"]}
    states = {step["key"]: step["state"] for step in workflow["steps"]}
    assert states == {"top": "queued", "left": "blocked", "right": "blocked", "bottom": "blocked"}
    bottom = next(step for step in workflow["steps"] if step["key"] == "bottom")
    assert sorted(bottom["after"]) == sorted([ids["left"], ids["right"]])
    read = api.client("acme").get(f"/v1/workflows/{workflow['id']}").json()
    assert read == workflow


def test_a_workflow_naming_a_step_it_lacks_is_refused_and_nothing_stored(api: Api) -> None:
    body = _diamond()
    body["steps"][1]["after"] = ["nowhere"]
    response = api.client("acme").post("/v1/workflows", json=body)
    assert error_of(response) == (422, "invalid_request")
    assert "nowhere" in response.text
    assert api.app.list_jobs() == []


def test_a_workflow_with_an_unknown_task_names_the_step(api: Api) -> None:
    body = _diamond()
    body["steps"][2]["task"] = "nope"
    response = api.client("acme").post("/v1/workflows", json=body)
    assert error_of(response) == (422, "unknown_task")
    assert "steps[2]" in response.text


def test_workflows_are_listed_newest_first_a_page_at_a_time(api: Api) -> None:
    client = api.client("acme")
    ids = [client.post("/v1/workflows", json=_diamond()).json()["id"] for _ in range(3)]
    first = client.get("/v1/workflows", params={"limit": 2}).json()
    assert [w["id"] for w in first["workflows"]] == ids[:0:-1]
    rest = client.get("/v1/workflows", params={"cursor": first["next_cursor"]}).json()
    assert ([w["id"] for w in rest["workflows"]], rest["next_cursor"]) == ([ids[0]], None)
    running = client.get("/v1/workflows", params={"state": "running", "name": "diamond"})
    assert len(running.json()["workflows"]) == 3
    done = client.get("/v1/workflows", params={"state": "succeeded"}).json()
    assert done["workflows"] == []


def test_a_workflow_cancel_cancels_its_steps(api: Api) -> None:
    client = api.client("acme")
    workflow_id = client.post("/v1/workflows", json=_diamond()).json()["id"]
    cancelled = client.post(f"/v1/workflows/{workflow_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    steps = client.get(f"/v1/workflows/{workflow_id}").json()["steps"]
    assert {step["state"] for step in steps} == {"cancelled"}


def test_a_workflow_retry_requeues_its_dead_steps_and_reopens_their_dependents(api: Api) -> None:
    client = api.client("acme")
    workflow = client.post("/v1/workflows", json=_diamond()).json()
    ids = {step["key"]: step["job_id"] for step in workflow["steps"]}
    api.finish(ids["top"], JobState.DEAD)
    failed = client.get(f"/v1/workflows/{workflow['id']}").json()
    assert (failed["state"], failed["steps_dead"], failed["steps_cancelled"]) == ("failed", 1, 3)
    retried = client.post(f"/v1/workflows/{workflow['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["steps_left"]) == ("running", 4)
    steps = client.get(f"/v1/workflows/{workflow['id']}").json()["steps"]
    states = {step["key"]: step["state"] for step in steps}
    assert states == {"top": "queued", "left": "blocked", "right": "blocked", "bottom": "blocked"}
    again = client.post(f"/v1/workflows/{workflow['id']}/retry")
    assert error_of(again) == (409, "invalid_transition")
    assert "no dead step" in again.json()["error"]["message"]


def test_tenant_b_cannot_read_list_or_cancel_tenant_a_workflows(api: Api) -> None:
    theirs = api.client("acme").post("/v1/workflows", json=_diamond()).json()["id"]
    b = api.client("globex")
    assert error_of(b.get(f"/v1/workflows/{theirs}")) == (404, "not_found")
    assert error_of(b.post(f"/v1/workflows/{theirs}/cancel")) == (404, "not_found")
    assert error_of(b.post(f"/v1/workflows/{theirs}/retry")) == (404, "not_found")
    assert b.get("/v1/workflows").json()["workflows"] == []
    assert error_of(b.get("/v1/workflows", params={"tenant": "acme"})) == (403, "forbidden")
    assert error_of(b.post("/v1/workflows", json=_diamond("acme"))) == (403, "forbidden")
    assert api.app.get_workflow(theirs).workflow.state == "running"


def test_an_admin_key_creates_a_workflow_for_any_tenant(api: Api) -> None:
    created = api.client(None).post("/v1/workflows", json=_diamond("initech"))
    assert created.json()["tenant"] == "initech"


def test_a_long_poll_returns_as_soon_as_the_job_ends(api: Api) -> None:
    job_id = api.enqueue(tenant="acme")
    finisher = threading.Timer(0.3, api.finish, args=(job_id, JobState.SUCCEEDED))
    finisher.start()
    try:
        response = api.client("acme").get(f"/v1/jobs/{job_id}", params={"wait": 30}, timeout=40)
    finally:
        finisher.join()
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["result"]) == ("succeeded", 3)


def test_a_long_poll_returns_the_job_as_it_is_when_the_wait_is_over(api: Api) -> None:
    job_id = api.enqueue(tenant="acme")
    started = time.monotonic()
    response = api.client("acme").get(f"/v1/jobs/{job_id}", params={"wait": 1}, timeout=10)
    assert time.monotonic() - started >= 0.9
    assert response.json()["state"] == "queued"


def test_a_long_poll_is_bounded_and_tenant_scoped(api: Api) -> None:
    job_id = api.enqueue(tenant="acme")
    b = api.client("globex")
    assert error_of(b.get(f"/v1/jobs/{job_id}", params={"wait": 5})) == (404, "not_found")
    too_long = api.client("acme").get(f"/v1/jobs/{job_id}", params={"wait": 3600})
    assert error_of(too_long)[0] == 422


def test_many_long_polls_wait_together(api: Api) -> None:
    job_id = api.enqueue(tenant="acme")
    results: list[httpx.Response] = []

    def poll() -> None:
        with api.client("acme") as client:
            results.append(client.get(f"/v1/jobs/{job_id}", params={"wait": 30}, timeout=40))

    pollers = [threading.Thread(target=poll) for _ in range(20)]
    for poller in pollers:
        poller.start()
    time.sleep(0.5)
    api.finish(job_id, JobState.SUCCEEDED)
    for poller in pollers:
        poller.join(40)
    assert [r.json()["state"] for r in results] == ["succeeded"] * 20
