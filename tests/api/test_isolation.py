"""Tenant isolation: tenant B cannot read, list, count, cancel, retry or redrive tenant A's jobs.

Another tenant's job is indistinguishable from a job that does not exist: the same 404, the same
message shape, and no change made.
"""

from __future__ import annotations

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
