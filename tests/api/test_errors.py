"""Every error is ``{"error": {"code", "message"}}`` with the right status; client input never
yields a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workhorse.api import ApiSettings

from .support import Api, Clock, make_app, running_api


def test_400_for_a_body_that_is_not_json(api: Api) -> None:
    client = api.client()
    for raw in (b"{not json", b'{"task": "add",}', b"\xff\xfe"):
        response = client.post(
            "/v1/jobs", content=raw, headers={"Content-Type": "application/json"}
        )
        assert _error(response) == (400, "malformed_json"), raw[:20]


def test_401_without_a_valid_key(api: Api) -> None:
    anonymous = api.anonymous()
    assert _error(anonymous.get("/v1/jobs")) == (401, "unauthorized")
    assert anonymous.get("/v1/jobs").headers["WWW-Authenticate"] == "Bearer"
    real = api.key("acme")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for header in (
        "Bearer nope",
        f"Basic {real}",
        f"Bearer {forged}",
        f"Bearer {real}x",
        "Bearer wh_000000000000_" + "A" * 43,
    ):
        response = anonymous.get("/v1/jobs", headers={"Authorization": header})
        assert _error(response) == (401, "unauthorized"), header


def test_401_for_a_revoked_key_at_once(api: Api) -> None:
    token = api.new_key("acme")
    client = api.client(token=token)
    assert client.get("/v1/jobs").status_code == 200
    prefix = token[: len("wh_") + 12]
    from workhorse.apikeys import revoke_key

    assert revoke_key(api.app.backend, prefix, api.clock()) is not None
    assert _error(client.get("/v1/jobs")) == (401, "unauthorized")


def test_403_for_a_tenant_key_on_admin_endpoints_or_naming_another_tenant(api: Api) -> None:
    client = api.client("acme")
    assert _error(client.get("/v1/workers")) == (403, "forbidden")
    assert _error(client.get("/v1/jobs", params={"tenant": "globex"})) == (403, "forbidden")
    assert _error(client.get("/v1/queues", params={"tenant": "globex"})) == (403, "forbidden")
    body = {"task": "add", "args": [1, 2], "tenant": "globex"}
    assert _error(client.post("/v1/jobs", json=body)) == (403, "forbidden")
    assert _error(client.post("/v1/jobs/batch", json={"jobs": [body]})) == (403, "forbidden")
    redrive = {"action": "retry", "tenant": "globex"}
    assert _error(client.post("/v1/jobs/redrive", json=redrive)) == (403, "forbidden")
    assert api.app.list_jobs() == []
    own = client.post("/v1/jobs", json={**body, "tenant": "acme"})
    assert own.status_code == 201, "naming its own tenant is fine"


def test_404_for_unknown_jobs_and_endpoints(api: Api) -> None:
    client = api.client()
    assert _error(client.get("/v1/jobs/999999")) == (404, "not_found")
    assert _error(client.post("/v1/jobs/999999/cancel")) == (404, "not_found")
    assert _error(client.post("/v1/jobs/999999/retry")) == (404, "not_found")
    assert _error(client.get("/v1/nothing-here")) == (404, "not_found")
    assert _error(client.delete("/v1/jobs")) == (405, "method_not_allowed")


INVALID: dict[str, dict[str, Any]] = {
    "no task": {"args": []},
    "task not a string": {"task": 5},
    "empty task": {"task": ""},
    "args not a list": {"task": "add", "args": {"a": 1}},
    "kwargs not an object": {"task": "add", "kwargs": [1]},
    "unknown field": {"task": "add", "prio": 1},
    "priority a string": {"task": "add", "priority": "high"},
    "priority a float": {"task": "add", "priority": 1.5},
    "priority a bool": {"task": "add", "priority": True},
    "priority too big": {"task": "add", "priority": 2**40},
    "max_attempts zero": {"task": "add", "max_attempts": 0},
    "max_attempts huge": {"task": "add", "max_attempts": 2**70},
    "negative delay": {"task": "add", "delay": -1},
    "delay a string": {"task": "add", "delay": "10"},
    "delay of a century": {"task": "add", "delay": 1e10},
    "timeout zero": {"task": "add", "timeout": 0},
    "run_at naive": {"task": "add", "run_at": "2030-01-01T00:00:00"},
    "run_at garbage": {"task": "add", "run_at": "tomorrow"},
    "delay as text": {"task": "add", "delay": "5"},
    "max_attempts as text": {"task": "add", "max_attempts": "3"},
    "delay and run_at": {"task": "add", "delay": 5, "run_at": "2030-01-01T00:00:00Z"},
    "limit without key": {"task": "add", "concurrency_limit": 2},
    "NUL in a name": {"task": "add", "queue": "a\x00b"},
    "NUL in args": {"task": "add", "args": ["a\x00b"]},
    "NUL in a kwargs key": {"task": "add", "kwargs": {"a\x00": 1}},
    "queue too long": {"task": "add", "queue": "q" * 201},
}


def test_422_for_invalid_fields(api: Api) -> None:
    client = api.client()
    for case, body in INVALID.items():
        assert _error(client.post("/v1/jobs", json=body)) == (422, "invalid_request"), case
    assert api.app.list_jobs() == []


NOT_STORABLE = [
    (b'{"task": "add", "args": [NaN]}', "invalid_request"),
    (b'{"task": "add", "args": [1e999]}', "invalid_request"),
    (b'{"task": "add", "kwargs": {"x": -Infinity}}', "invalid_request"),
    (b'{"task": "add", "args": ["\\ud800"]}', "invalid_request"),
    (b'{"task": "add", "args": [' + b"[" * 80 + b"]" * 80 + b"]}", "invalid_request"),
    # Too deep for the JSON parser itself: still the 422 of any nesting over the limit.
    (b'{"task": "add", "args": [' + b"[" * 5000 + b"]" * 5000 + b"]}", "invalid_request"),
    (b"[" * 100_000 + b"]" * 100_000, "invalid_request"),
    (b'{"task": "nope"}', "unknown_task"),
    (b"[]", "invalid_request"),
    (b"null", "invalid_request"),
]


def test_422_for_values_that_are_not_storable_json_or_unknown_tasks(api: Api) -> None:
    client = api.client()
    headers = {"Content-Type": "application/json"}
    for raw, code in NOT_STORABLE:
        response = client.post("/v1/jobs", content=raw, headers=headers)
        assert _error(response) == (422, code), raw[:40]
    assert api.app.list_jobs() == []


BAD_LIST_PARAMETERS: list[dict[str, Any]] = [
    {"state": "sleeping"},
    {"limit": 0},
    {"limit": 1001},
    {"limit": "ten"},
    {"cursor": "not-a-cursor"},
    {"cursor": "eyJ2IjoxLCJiZWZvcmUiOi0xfQ"},
    {"cursor": "a\x00b"},
    {"cursor": "\u00e9t\u00e9"},
    {"cursor": "W1tbW1tbW1tbW1tb"},
    {"queue": ""},
    {"task": "a\x00"},
]


def test_422_for_invalid_list_parameters(api: Api) -> None:
    client = api.client()
    for params in BAD_LIST_PARAMETERS:
        assert _error(client.get("/v1/jobs", params=params))[0] == 422, params


def test_job_ids_out_of_range_are_422_and_non_ids_404(api: Api) -> None:
    client = api.client()
    for path in ("/v1/jobs/0", f"/v1/jobs/{2**63}", f"/v1/jobs/{2**63}/cancel"):
        response = client.post(path) if path.endswith("cancel") else client.get(path)
        assert _error(response) == (422, "invalid_request"), path
    for path in ("/v1/jobs/-1", "/v1/jobs/abc", "/v1/jobs/1.5/retry", f"/v1/jobs/{2**64}"):
        response = client.post(path) if path.endswith("retry") else client.get(path)
        assert _error(response) == (404, "not_found"), path
    assert _error(client.get(f"/v1/jobs/{'9' * 5000}")) == (404, "not_found")
    assert _error(client.get("/v1/jobs/redrive")) == (405, "method_not_allowed")


def test_413_for_a_body_over_the_limit_declared_or_chunked(api: Api) -> None:
    client = api.client()
    big = b'{"task": "add", "args": ["' + b"x" * (1024 * 1024) + b'"]}'
    response = client.post("/v1/jobs", content=big, headers={"Content-Type": "application/json"})
    assert _error(response) == (413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"task": "add", "args": ["'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"]}'

    chunked = client.post(
        "/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert _error(chunked) == (413, "payload_too_large")
    assert api.app.list_jobs() == []
    just_under = b'{"task": "add", "args": ["' + b"z" * 1_000_000 + b'"]}'
    ok = client.post("/v1/jobs", content=just_under, headers={"Content-Type": "application/json"})
    assert ok.status_code == 201


def test_413_limit_is_configurable(store_url: str, clock: Clock) -> None:
    app = make_app(store_url, clock)
    try:
        with running_api(app, ApiSettings(max_body=200)) as url:
            from workhorse.apikeys import create_key

            token = create_key(app.backend, tenant="acme", name="", now=clock()).token
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers) as client:
                small = client.post("/v1/jobs", json={"task": "add", "args": [1, 2]})
                assert small.status_code == 201
                large = client.post("/v1/jobs", json={"task": "add", "args": ["x" * 300]})
                assert _error(large) == (413, "payload_too_large")
    finally:
        app.close()


def _error(response: httpx.Response) -> tuple[int, str]:
    from .support import error_of

    assert response.status_code != 500, response.text
    return error_of(response)


def test_times_outside_the_stored_years_are_taken_as_the_nearer_end(api: Api) -> None:
    client = api.client()
    past = client.post("/v1/jobs", json={"task": "add", "run_at": "0001-01-01T00:00:00+14:00"})
    assert (past.status_code, past.json()["state"]) == (201, "queued")
    assert past.json()["run_at"].startswith("1970-01-01T00:00:00")
    future = client.post("/v1/jobs", json={"task": "add", "run_at": "9999-12-31T23:59:59Z"})
    assert (future.status_code, future.json()["state"]) == (201, "scheduled")
    assert future.json()["run_at"].startswith("9998-12-31T23:59:59")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/jobs", "GET, POST"),
        ("DELETE", "/v1/jobs", "GET, POST"),
        ("OPTIONS", "/v1/tenants/acme", "GET, PUT"),
        ("PUT", "/v1/jobs/1", "GET"),
        ("GET", "/v1/jobs/redrive", "POST"),
    ],
)
def test_405_lists_every_method_of_the_path(api: Api, method: str, path: str, allowed: str) -> None:
    response = api.client(None).request(method, path)
    assert _error(response) == (405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def test_the_schema_documents_429_on_enqueue(api: Api) -> None:
    schema = api.anonymous().get("/openapi.json").json()
    for path in ("/v1/jobs", "/v1/jobs/batch"):
        refused = schema["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in refused["headers"]
