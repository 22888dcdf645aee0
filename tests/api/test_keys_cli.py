"""``workhorse keys create | list | revoke``: the real CLI, and the keys it makes used over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from .support import Clock, make_app, running_api


def _workhorse(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKHORSE_")}
    return subprocess.run(
        [sys.executable, "-m", "workhorse", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_created_keys_work_over_http_until_revoked(
    store_url: str, clock: Clock, tmp_path: Path
) -> None:
    db = ("--database-url", store_url)
    made = _workhorse("keys", "create", "--tenant", "acme", "--name", "ci", *db, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("wh_")
    admin = _workhorse("keys", "create", "--admin", *db, cwd=tmp_path)
    admin_token = admin.stdout.strip().splitlines()[-1]

    listed = _workhorse("keys", "list", "--json", *db, cwd=tmp_path)
    keys = json.loads(listed.stdout)
    assert [(k["tenant"], k["admin"], k["name"]) for k in keys] == [
        ("acme", False, "ci"),
        (None, True, ""),
    ]
    assert token not in listed.stdout, "a key is shown once, never listed"
    assert all(k["revoked_at"] is None for k in keys)

    app = make_app(store_url, clock)
    try:
        with running_api(app) as url:
            tenant = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
            with tenant:
                created = tenant.post("/v1/jobs", json={"task": "add", "args": [1, 2]})
                assert (created.status_code, created.json()["tenant"]) == (201, "acme")
                assert tenant.get("/v1/workers").status_code == 403
                headers = {"Authorization": f"Bearer {admin_token}"}
                assert httpx.get(f"{url}/v1/workers", headers=headers).status_code == 200

                revoked = _workhorse("keys", "revoke", keys[0]["prefix"], *db, cwd=tmp_path)
                assert revoked.returncode == 0, revoked.stderr
                assert keys[0]["prefix"] in revoked.stdout
                assert tenant.get("/v1/jobs").status_code == 401
                assert httpx.get(f"{url}/v1/workers", headers=headers).status_code == 200
    finally:
        app.close()

    by_id = _workhorse("keys", "revoke", str(keys[1]["id"]), *db, cwd=tmp_path)
    assert by_id.returncode == 0, by_id.stderr
    human = _workhorse("keys", "list", *db, cwd=tmp_path)
    assert human.stdout.count("REVOKED") == 2


def test_keys_cli_refuses_bad_input(tmp_path: Path) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path}/keys.db")
    assert _workhorse("migrate", *db, cwd=tmp_path).returncode == 0
    neither = _workhorse("keys", "create", *db, cwd=tmp_path)
    both = _workhorse("keys", "create", "--admin", "--tenant", "acme", *db, cwd=tmp_path)
    for result in (neither, both):
        assert result.returncode == 2
        assert "exactly one of --tenant NAME or --admin" in result.stderr
    missing = _workhorse("keys", "revoke", "wh_000000000000", *db, cwd=tmp_path)
    assert missing.returncode == 1
    assert "no API key 'wh_000000000000'" in missing.stderr
    assert "Traceback" not in missing.stderr
