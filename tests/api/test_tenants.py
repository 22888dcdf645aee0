"""/v1/tenants: admins read and change every tenant; a tenant key reads only its own; a tenant
over its max_queued gets 429 with Retry-After."""

from __future__ import annotations

from .support import Api, error_of


def test_admin_sets_a_tenant_and_reads_it_back(api: Api) -> None:
    admin = api.client(None)
    response = admin.put("/v1/tenants/acme", json={"weight": 3, "max_running": 5, "rate": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["weight"], body["max_running"], body["rate"]) == ("acme", 3, 5, 10)
    assert body["max_queued"] is None and body["paused"] is False
    again = admin.get("/v1/tenants/acme").json()
    assert again["weight"] == 3 and again["max_running"] == 5


def test_put_changes_only_what_it_names_and_null_removes_a_limit(api: Api) -> None:
    admin = api.client(None)
    admin.put("/v1/tenants/acme", json={"weight": 2, "max_running": 4})
    body = admin.put("/v1/tenants/acme", json={"max_running": None, "paused": True}).json()
    assert (body["weight"], body["max_running"], body["paused"]) == (2, None, True)


def test_the_list_shows_activity_per_tenant(api: Api) -> None:
    for _ in range(3):
        api.enqueue(tenant="acme")
    api.enqueue(tenant="globex")
    rows = {row["name"]: row for row in api.client(None).get("/v1/tenants").json()["tenants"]}
    assert rows["acme"]["waiting"] == 3
    assert rows["globex"]["waiting"] == 1


def test_a_tenant_key_sees_only_its_own_tenant_and_changes_nothing(api: Api) -> None:
    api.enqueue(tenant="acme")
    api.enqueue(tenant="globex")
    globex = api.client("globex")
    names = [row["name"] for row in globex.get("/v1/tenants").json()["tenants"]]
    assert names == ["globex"]
    assert globex.get("/v1/tenants/globex").status_code == 200
    assert error_of(globex.get("/v1/tenants/acme")) == (404, "not_found")
    assert error_of(globex.put("/v1/tenants/globex", json={"weight": 50}))[0] == 403
    assert api.app.get_tenant("globex").weight == 1


def test_invalid_settings_are_422(api: Api) -> None:
    admin = api.client(None)
    for body in ({"weight": 0}, {"weight": None}, {"max_running": -1}, {"burst": 0.5},
                 {"rate": "fast"}, {"unknown": 1}, {"paused": 0}, {"paused": None},
                 {"paused": "true"}, {"max_running": False}, {"weight": "2"}):  # fmt: skip
        assert error_of(admin.put("/v1/tenants/acme", json=body)) == (422, "invalid_request"), body


def test_enqueue_past_max_queued_is_429_with_retry_after(api: Api) -> None:
    api.client(None).put("/v1/tenants/acme", json={"max_queued": 2})
    acme = api.client("acme")
    for _ in range(2):
        assert acme.post("/v1/jobs", json={"task": "add", "args": [1, 2]}).status_code == 201
    refused = acme.post("/v1/jobs", json={"task": "add", "args": [1, 2]})
    assert error_of(refused) == (429, "quota_exceeded")
    assert refused.headers["Retry-After"] == "1"
    assert "max_queued is 2" in refused.json()["error"]["message"]
