"""``Idempotency-Key``: a repeated request gets the same job(s) with 200; the same key with a
different body is a 409; keys are per tenant and kept 24 hours."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx

from .support import Api, error_of

BODY = {"task": "add", "args": [1, 2]}


def _post(client: httpx.Client, key: str, body: object = BODY) -> httpx.Response:
    return client.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})


def test_the_same_key_and_body_return_the_same_job_with_200(api: Api) -> None:
    client = api.client("acme")
    first = _post(client, "order-7")
    again = _post(client, "order-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(api.app.list_jobs()) == 1


def test_the_replay_shows_the_jobs_current_state(api: Api) -> None:
    client = api.client("acme")
    job_id = _post(client, "order-8").json()["id"]
    client.post(f"/v1/jobs/{job_id}/cancel")
    replay = _post(client, "order-8")
    assert (replay.status_code, replay.json()["state"]) == (200, "cancelled")


def test_the_same_key_with_another_body_is_409(api: Api) -> None:
    client = api.client("acme")
    _post(client, "order-9")
    conflict = _post(client, "order-9", {"task": "add", "args": [1, 3]})
    assert error_of(conflict) == (409, "idempotency_conflict")
    assert len(api.app.list_jobs()) == 1


def test_equivalent_bodies_are_the_same_request(api: Api) -> None:
    client = api.client("acme")
    first = _post(client, "order-10", {"task": "add", "args": [1, 2]})
    spelled_out: dict[str, object] = {"task": "add", "args": [1, 2], "kwargs": {}, "queue": None}
    assert _post(client, "order-10", spelled_out).json()["id"] == first.json()["id"]


def test_a_key_is_kept_24_hours(api: Api) -> None:
    client = api.client("acme")
    first = _post(client, "daily").json()["id"]
    api.clock.advance(timedelta(hours=23, minutes=59))
    assert _post(client, "daily").json()["id"] == first
    api.clock.advance(timedelta(minutes=2))
    fresh = _post(client, "daily")
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first


def test_batches_are_idempotent_too(api: Api) -> None:
    client = api.client("acme")
    body = {"jobs": [BODY, BODY]}
    headers = {"Idempotency-Key": "batch-1"}
    first = client.post("/v1/jobs/batch", json=body, headers=headers)
    again = client.post("/v1/jobs/batch", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert [j["id"] for j in again.json()["jobs"]] == [j["id"] for j in first.json()["jobs"]]
    assert [j["created"] for j in again.json()["jobs"]] == [False, False]
    assert len(api.app.list_jobs()) == 2
    other = client.post("/v1/jobs/batch", json={"jobs": [BODY]}, headers=headers)
    assert error_of(other) == (409, "idempotency_conflict")


def test_racing_requests_with_one_key_create_one_job(api: Api) -> None:
    statuses: list[int] = []
    ids: set[int] = set()
    start = threading.Barrier(6)

    def send() -> None:
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}) as c:
            start.wait(10)
            response = _post(c, "race")
            statuses.append(response.status_code)
            ids.add(response.json()["id"])

    token = api.key("acme")
    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(ids) == 1
    assert len(api.app.list_jobs()) == 1


def test_a_bad_idempotency_key_is_422(api: Api) -> None:
    client = api.client("acme")
    assert error_of(_post(client, "")) == (422, "invalid_request")
    assert error_of(_post(client, "k" * 256)) == (422, "invalid_request")
    assert error_of(_post(client, "tab\there")) == (422, "invalid_request")
    assert api.app.list_jobs() == []
