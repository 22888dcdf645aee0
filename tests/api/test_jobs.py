"""``/v1/jobs``: enqueue (one or a batch), read, list with filters, cancel, retry; queues and
workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Api, error_of


def test_enqueue_returns_201_with_the_job_in_the_keys_tenant(api: Api) -> None:
    response = api.client("acme").post(
        "/v1/jobs", json={"task": "add", "args": [2, 3], "kwargs": {}}
    )
    assert response.status_code == 201
    job = response.json()
    assert job["tenant"] == "acme"
    assert (job["task"], job["args"], job["kwargs"]) == ("add", [2, 3], {})
    assert (job["state"], job["attempts"], job["max_attempts"]) == ("queued", 0, 3)
    assert job["queue"] == "default"
    stored = api.app.get_job(job["id"])
    assert (stored.tenant, stored.args, stored.state) == ("acme", [2, 3], JobState.QUEUED)


def test_enqueue_takes_the_tasks_defaults_and_per_call_options(api: Api) -> None:
    client = api.client("acme")
    defaults = client.post("/v1/jobs", json={"task": "send", "args": ["a@b.c"]}).json()
    assert (defaults["queue"], defaults["priority"], defaults["max_attempts"]) == ("mail", 3, 5)
    options = {
        "queue": "bulk",
        "priority": -4,
        "max_attempts": 9,
        "timeout": 2.5,
        "delay": 60,
        "concurrency_key": "smtp",
        "concurrency_limit": 2,
    }
    job = client.post("/v1/jobs", json={"task": "send", "args": ["a@b.c"], **options}).json()
    assert (job["queue"], job["priority"], job["max_attempts"], job["timeout"]) == (
        "bulk",
        -4,
        9,
        2.5,
    )
    assert job["state"] == "scheduled"
    assert datetime.fromisoformat(job["run_at"]) == api.clock() + timedelta(seconds=60)
    assert job["concurrency_key"] == "smtp"


def test_enqueue_at_a_given_time(api: Api) -> None:
    when = api.clock() + timedelta(hours=2)
    body = {"task": "add", "args": [1, 1], "run_at": when.isoformat()}
    job = api.client().post("/v1/jobs", json=body).json()
    assert job["state"] == "scheduled"
    assert datetime.fromisoformat(job["run_at"]) == when


def test_enqueue_with_a_live_unique_key_returns_the_existing_job_with_200(api: Api) -> None:
    client = api.client("acme")
    body = {"task": "add", "args": [1, 2], "unique_key": "nightly"}
    first = client.post("/v1/jobs", json=body)
    again = client.post("/v1/jobs", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other_tenant = api.client("globex").post("/v1/jobs", json=body)
    assert other_tenant.status_code == 201


def test_admin_enqueues_for_any_tenant(api: Api) -> None:
    admin = api.client(None)
    job = admin.post("/v1/jobs", json={"task": "add", "args": [1, 2], "tenant": "globex"}).json()
    assert job["tenant"] == "globex"
    default = admin.post("/v1/jobs", json={"task": "add", "args": [1, 2]}).json()
    assert default["tenant"] == api.app.default_tenant


def test_get_returns_the_result_and_every_attempts_error(api: Api) -> None:
    client = api.client("acme")
    done = client.post("/v1/jobs", json={"task": "add", "args": [1, 2]}).json()["id"]
    api.finish(done, JobState.SUCCEEDED)
    job = client.get(f"/v1/jobs/{done}").json()
    assert (job["state"], job["result"], job["attempts"]) == ("succeeded", 3, 1)
    assert job["finished_at"] is not None
    dead = api.dead(error_type="KeyError")
    failed = client.get(f"/v1/jobs/{dead}").json()
    assert failed["state"] == "dead"
    [error] = failed["errors"]
    assert (error["attempt"], error["type"], error["message"]) == (1, "KeyError", "boom")
    assert error["traceback"] == "Traceback: ..."


def test_cancel_and_retry(api: Api) -> None:
    client = api.client("acme")
    queued = api.enqueue()
    cancelled = client.post(f"/v1/jobs/{queued}/cancel")
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert api.app.get_job(queued).state is JobState.CANCELLED
    dead = api.dead()
    retried = client.post(f"/v1/jobs/{dead}/retry")
    assert retried.status_code == 200
    assert (retried.json()["state"], retried.json()["attempts"]) == ("queued", 0)


def test_cancel_of_an_ended_job_and_retry_of_a_live_one_are_409(api: Api) -> None:
    client = api.client("acme")
    done = api.enqueue()
    api.finish(done, JobState.SUCCEEDED)
    assert error_of(client.post(f"/v1/jobs/{done}/cancel")) == (409, "invalid_transition")
    queued = api.enqueue()
    assert error_of(client.post(f"/v1/jobs/{queued}/retry")) == (409, "invalid_transition")
    assert api.app.get_job(queued).state is JobState.QUEUED


def test_batch_enqueues_up_to_1000_jobs_in_one_go(api: Api) -> None:
    jobs = [{"task": "add", "args": [n, n]} for n in range(1000)]
    response = api.client("acme").post("/v1/jobs/batch", json={"jobs": jobs})
    assert response.status_code == 201
    created = response.json()["jobs"]
    assert len(created) == 1000
    assert all(job["created"] for job in created)
    ids = [job["id"] for job in created]
    assert len(set(ids)) == 1000
    assert api.app.get_job(ids[10]).args == [10, 10]
    counts = api.app.backend.job_count(b.JobCountParams(tenant="acme"))
    assert sum(row.count for row in counts) == 1000


def test_batch_is_all_or_nothing(api: Api) -> None:
    jobs = [{"task": "add", "args": [1, 2]}] * 3 + [{"task": "nope"}]
    response = api.client("acme").post("/v1/jobs/batch", json={"jobs": jobs})
    assert error_of(response) == (422, "unknown_task")
    assert response.json()["error"]["message"].startswith("jobs[3]: ")
    assert api.app.list_jobs() == []


def test_batch_over_1000_jobs_or_empty_is_422(api: Api) -> None:
    client = api.client("acme")
    too_many = {"jobs": [{"task": "add", "args": [1, 2]}] * 1001}
    assert error_of(client.post("/v1/jobs/batch", json=too_many)) == (422, "invalid_request")
    assert error_of(client.post("/v1/jobs/batch", json={"jobs": []})) == (422, "invalid_request")
    assert api.app.list_jobs() == []


def test_list_filters_by_state_queue_and_task(api: Api) -> None:
    client = api.client("acme")
    mail = api.enqueue("send")
    added = api.enqueue("add")
    done = api.enqueue("add")
    api.finish(done, JobState.SUCCEEDED)

    def ids(**params: str | list[str]) -> list[int]:
        response = client.get("/v1/jobs", params=params)
        assert response.status_code == 200
        return [job["id"] for job in response.json()["jobs"]]

    assert ids() == [done, added, mail]
    assert ids(queue="mail") == [mail]
    assert ids(task="add") == [done, added]
    assert ids(state="succeeded") == [done]
    assert ids(state=["queued", "succeeded"]) == [done, added, mail]
    assert ids(state="dead") == []


def test_admin_lists_every_tenant_or_one(api: Api) -> None:
    acme, globex = api.enqueue(tenant="acme"), api.enqueue(tenant="globex")
    admin = api.client(None)
    everyone = admin.get("/v1/jobs").json()["jobs"]
    assert [job["id"] for job in everyone] == [globex, acme]
    only = admin.get("/v1/jobs", params={"tenant": "acme"}).json()["jobs"]
    assert [job["id"] for job in only] == [acme]


def test_queues_counts_jobs_by_state(api: Api) -> None:
    api.enqueue(tenant="acme")
    api.enqueue(tenant="acme")
    api.dead(tenant="acme")
    api.enqueue("send", tenant="acme")
    api.enqueue(tenant="globex")
    body = api.client("acme").get("/v1/queues").json()
    counts = {(q["tenant"], q["queue"]): q["counts"] for q in body["queues"]}
    assert set(counts) == {("acme", "default"), ("acme", "mail")}
    assert counts["acme", "default"]["queued"] == 2
    assert counts["acme", "default"]["dead"] == 1
    assert counts["acme", "default"]["running"] == 0
    assert counts["acme", "mail"]["queued"] == 1
    everyone = api.client(None).get("/v1/queues").json()["queues"]
    assert {(q["tenant"], q["queue"]) for q in everyone} == {
        ("acme", "default"),
        ("acme", "mail"),
        ("globex", "default"),
    }


def test_workers_lists_the_registry_for_admins(api: Api) -> None:
    now = api.clock()
    api.app.backend.worker_heartbeat(
        b.WorkerHeartbeatParams(
            id="w-1", host="h", pid=42, queues=["default"], concurrency=4, now=now, started_at=now
        )
    )
    [worker] = api.client(None).get("/v1/workers").json()["workers"]
    assert (worker["id"], worker["pid"], worker["queues"], worker["concurrency"]) == (
        "w-1",
        42,
        ["default"],
        4,
    )
    assert datetime.fromisoformat(worker["last_seen_at"]) == now.astimezone(UTC)
