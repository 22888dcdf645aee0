"""``/healthz``, ``/readyz``, ``/openapi.json`` and ``/docs`` (off unless asked for)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import psycopg
import pytest

from .support import Api, Clock, error_of, make_app, running_api


def test_healthz_and_readyz_need_no_key(api: Api) -> None:
    client = api.anonymous()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["schema_version"] == api.app.backend.schema_version() >= 3


def test_readyz_is_503_when_migrations_are_behind(api: Api, store_url: str) -> None:
    latest = api.app.backend.schema_version()
    _execute(store_url, "DELETE FROM workhorse_migrations WHERE version = {}", latest)
    response = api.anonymous().get("/readyz")
    assert error_of(response) == (503, "not_ready")
    assert "workhorse migrate" in response.json()["error"]["message"]
    _execute(store_url, "INSERT INTO workhorse_migrations VALUES ({}, 'back', {})", latest, 0)
    assert api.anonymous().get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "url", ["sqlite:///{tmp}/missing/dir/x.db", "postgresql://postgres@127.0.0.1:1/none"]
)
def test_readyz_is_503_and_healthz_200_when_the_database_is_unreachable(
    url: str, tmp_path: Path, clock: Clock
) -> None:
    app = make_app(url.format(tmp=tmp_path), clock)
    with running_api(app) as base, httpx.Client(base_url=base) as client:
        assert client.get("/healthz").status_code == 200
        assert error_of(client.get("/readyz")) == (503, "not_ready")
        headers = {"Authorization": "Bearer wh_000000000000_" + "A" * 43}
        jobs = client.get("/v1/jobs", headers=headers)
        assert error_of(jobs) == (503, "database_unavailable")
        assert jobs.headers["Retry-After"] == "1"


def test_openapi_is_served_and_docs_are_off_by_default(api: Api) -> None:
    client = api.anonymous()
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/v1/jobs",
        "/v1/jobs/batch",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/cancel",
        "/v1/jobs/{job_id}/retry",
        "/v1/jobs/redrive",
        "/v1/queues",
        "/v1/workers",
        "/healthz",
        "/readyz",
    } <= paths
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert error_of(client.get("/docs")) == (404, "not_found")


def _task_field(client: httpx.Client) -> dict[str, object]:
    schema = client.get("/openapi.json").json()
    task: dict[str, object] = schema["components"]["schemas"]["JobCreate"]["properties"]["task"]
    return task


def test_only_admin_keys_read_the_registered_tasks_in_the_schema(api: Api) -> None:
    assert _task_field(api.client(None))["enum"] == ["add", "fail", "send"]
    for client in (api.anonymous(), api.client("acme"), api.client(None, token="wh_nope")):
        assert "enum" not in _task_field(client)


def _execute(url: str, template: str, *values: int) -> None:
    """Run one statement on the store behind the API's back (``{}``: a parameter)."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as lite:
            lite.execute(template.format(*["?"] * len(values)), values)
        lite.close()
        return
    params = ["%s"] * len(values)
    if "INSERT" in template:
        params[-1] = "to_timestamp(%s)"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(template.format(*params).encode(), values)
