"""``workhorse serve`` and ``workhorse api`` serve the API: the real CLI, real workers, SIGTERM."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from acceptance._harness import APP, Proc, Workspace, wait_until


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    space = Workspace(tmp_path)
    try:
        yield space
    finally:
        space.close()


def _base_url(proc: Proc, pattern: str) -> str:
    """The URL the process logged it listens on (started with --port 0)."""

    def logged() -> str | None:
        assert proc.alive, f"{proc.name} exited early:\n{proc.stderr()}"
        match = re.search(pattern, proc.stderr())
        return match[1] if match else None

    return wait_until(logged, timeout=30, what=f"{proc.name} to listen")


def _admin_key(workspace: Workspace) -> str:
    made = workspace.cli("keys", "create", "--admin")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_serve_runs_jobs_enqueued_over_http_and_drains_on_sigterm(workspace: Workspace) -> None:
    serve = workspace.start(
        "serve", "--app", APP, "--database-url", workspace.db_url, "--port", "0", name="serve"
    )
    url = _base_url(serve, r"REST API on (http://127\.0\.0\.1:\d+)")
    headers = {"Authorization": f"Bearer {_admin_key(workspace)}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        job = client.post("/v1/jobs", json={"task": "add", "args": [2, 3], "tenant": "acme"})
        assert job.status_code == 201, job.text

        def finished() -> dict[str, object] | None:
            body: dict[str, object] = client.get(f"/v1/jobs/{job.json()['id']}").json()
            return body if body["state"] == "succeeded" else None

        done = wait_until(finished, timeout=30, what="the job to succeed")
        assert done["result"] == 5
        assert client.get("/readyz").status_code == 200
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit(30) == 0
    assert "stopped" in serve.stderr()
    assert "Traceback" not in serve.output()


@pytest.mark.slow
def test_api_command_serves_until_sigterm(workspace: Workspace) -> None:
    assert workspace.cli("migrate").returncode == 0  # the API opens only a database that exists
    api = workspace.start(
        "api", "--app", APP, "--database-url", workspace.db_url, "--port", "0", "--docs",
        name="api",
    )  # fmt: skip
    url = _base_url(api, r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
    assert "swagger-ui" in httpx.get(f"{url}/docs").text
    headers = {"Authorization": f"Bearer {_admin_key(workspace)}"}
    queued = httpx.post(f"{url}/v1/jobs", json={"task": "add", "args": [1, 1]}, headers=headers)
    assert (queued.status_code, queued.json()["state"]) == (201, "queued")
    api.signal(signal.SIGTERM)
    assert api.wait_exit(20) == 0
    assert "Traceback" not in api.output()


def test_serve_refuses_a_port_in_use(workspace: Workspace) -> None:
    from workhorse.api.server import listen

    taken = listen("127.0.0.1", 0)
    try:
        port = str(taken.getsockname()[1])
        result = workspace.run("serve", "--demo", "--port", port, timeout=60)
    finally:
        taken.close()
    assert result.returncode == 1
    assert f"cannot serve the API on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
