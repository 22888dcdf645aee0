"""Tenant isolation: tenant B cannot read, list, count, cancel, retry or redrive tenant A's jobs,
nor learn the server's task names or file paths.

Another tenant's job is indistinguishable from a job that does not exist: the same 404, the same
message shape, and no change made.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Api, error_of


def test_tenant_b_cannot_read_or_change_tenant_a_jobs(api: Api) -> None:
    queued = api.enqueue(tenant="acme")
    dead = api.dead(tenant="acme")
    b = api.client("globex")
    missing = 10**9
    for job_id in (queued, dead, missing):
        assert error_of(b.get(f"/v1/jobs/{job_id}")) == (404, "not_found")
        assert error_of(b.post(f"/v1/jobs/{job_id}/cancel")) == (404, "not_found")
        assert error_of(b.post(f"/v1/jobs/{job_id}/retry")) == (404, "not_found")
    assert api.app.get_job(queued).state is JobState.QUEUED
    assert api.app.get_job(dead).state is JobState.DEAD
    a = api.client("acme")
    assert a.get(f"/v1/jobs/{queued}").status_code == 200
    assert a.post(f"/v1/jobs/{dead}/retry").json()["state"] == "queued"


def test_the_404_for_another_tenants_job_reads_like_a_missing_one(api: Api) -> None:
    theirs = api.enqueue(tenant="acme")
    b = api.client("globex")
    other = b.get(f"/v1/jobs/{theirs}").json()["error"]["message"]
    missing = b.get("/v1/jobs/987654321").json()["error"]["message"]
    assert other == missing.replace("987654321", str(theirs))


def test_tenant_b_lists_and_counts_only_its_own_jobs(api: Api) -> None:
    for _ in range(3):
        api.enqueue(tenant="acme")
    api.dead(tenant="acme")
    mine = api.enqueue(tenant="globex")
    b = api.client("globex")
    listed = b.get("/v1/jobs").json()
    assert [job["id"] for job in listed["jobs"]] == [mine]
    assert listed["next_cursor"] is None
    for state in JobState:
        jobs = b.get("/v1/jobs", params={"state": state.value}).json()["jobs"]
        assert all(job["tenant"] == "globex" for job in jobs)
    queues = b.get("/v1/queues").json()["queues"]
    assert [(q["tenant"], q["counts"]["queued"]) for q in queues] == [("globex", 1)]


def test_tenant_b_cannot_redrive_tenant_a_dead_jobs(api: Api) -> None:
    theirs = [api.dead(tenant="acme") for _ in range(2)]
    mine = api.dead(tenant="globex")
    b = api.client("globex")
    for action in ("retry", "cancel"):
        dry = b.post("/v1/jobs/redrive", json={"action": action, "dry_run": True}).json()
        assert dry["count"] == 1
    done = b.post("/v1/jobs/redrive", json={"action": "retry"}).json()
    assert done["count"] == 1
    assert api.app.get_job(mine).state is JobState.QUEUED
    assert [api.app.get_job(job_id).state for job_id in theirs] == [JobState.DEAD] * 2
    cancel = b.post("/v1/jobs/redrive", json={"action": "cancel"}).json()
    assert cancel["count"] == 0
    assert [api.app.get_job(job_id).state for job_id in theirs] == [JobState.DEAD] * 2


def test_tenant_b_idempotency_keys_are_its_own(api: Api) -> None:
    headers = {"Idempotency-Key": "order-1"}
    body = {"task": "add", "args": [1, 2]}
    a = api.client("acme").post("/v1/jobs", json=body, headers=headers)
    b = api.client("globex").post("/v1/jobs", json=body, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["tenant"] == "globex"


def test_admin_sees_and_changes_every_tenant(api: Api) -> None:
    acme, globex = api.dead(tenant="acme"), api.dead(tenant="globex")
    admin = api.client(None)
    assert admin.get(f"/v1/jobs/{acme}").json()["tenant"] == "acme"
    assert admin.post(f"/v1/jobs/{globex}/retry").json()["state"] == "queued"
    listed = admin.get("/v1/jobs").json()["jobs"]
    assert {job["tenant"] for job in listed} == {"acme", "globex"}


def test_only_admin_keys_learn_the_registered_tasks_from_an_unknown_one(api: Api) -> None:
    for client, body in (
        (api.client("acme"), {"task": "nope"}),
        (api.client("acme"), {"jobs": [{"task": "nope"}]}),
    ):
        path = "/v1/jobs/batch" if "jobs" in body else "/v1/jobs"
        response = client.post(path, json=body)
        assert error_of(response) == (422, "unknown_task")
        message = response.json()["error"]["message"]
        assert "'nope'" in message and "add" not in message and "send" not in message
    admin = api.client(None).post("/v1/jobs", json={"task": "nope"})
    assert error_of(admin) == (422, "unknown_task")
    assert "registered: add, fail, send" in admin.json()["error"]["message"]


TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/venv/lib/python3.12/site-packages/workhorse/worker/runtime.py", line 355, in _execute
    result = await self._call(running)
  File "/srv/app/billing/jobs.py", line 9, in charge
    raise ValueError("card declined")
ValueError: card declined
"""


def test_a_tenant_key_reads_only_its_tasks_frames_of_a_traceback(api: Api) -> None:
    job_id = api.enqueue("fail", "acme", max_attempts=1)
    claimed = api.app.backend.job_claim(
        b.JobClaimParams(
            worker_id="w", queues=["default"], limit=1, lease_token="t",
            lease_for=timedelta(seconds=30), now=api.clock(),
        )
    )  # fmt: skip
    error = b.ErrorRecord(type="ValueError", message="card declined", traceback=TRACEBACK)
    outcome = b.Outcome(
        id=job_id, lease_token="t", attempt=claimed[0].attempt, state=JobState.DEAD, error=error
    )
    api.app.backend.job_finish_many(b.JobFinishManyParams(outcomes=[outcome], now=api.clock()))

    def traceback(client: httpx.Client, path: str) -> str:
        body = client.get(path).json()
        job = body["jobs"][0] if "jobs" in body else body
        text: str = job["errors"][0]["traceback"]
        return text

    for path in (f"/v1/jobs/{job_id}", "/v1/jobs?state=dead"):
        tenant_view = traceback(api.client("acme"), path)
        assert "/srv/" not in tenant_view and "runtime.py" not in tenant_view
        assert 'File "jobs.py", line 9, in charge' in tenant_view
        assert tenant_view.endswith("ValueError: card declined\n")
        assert traceback(api.client(None), path) == TRACEBACK


API_DOC = Path(__file__).parents[2] / "docs" / "api.md"


def test_job_ids_count_every_tenants_jobs_as_the_docs_say(api: Api) -> None:
    first = api.enqueue("add", "acme")
    for _ in range(3):
        api.enqueue("add", "globex")
    second = api.enqueue("add", "acme")
    # One sequence for every tenant: acme can count globex's jobs between two of its own.
    assert second - first == 4
    doc = " ".join(API_DOC.read_text().split())
    assert "ids reveal nothing" not in doc
    assert "Ids are numbers from one sequence shared by every tenant" in doc
    assert "the number of jobs **all** tenants created between them" in doc
