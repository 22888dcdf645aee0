"""/v1/webhooks and /v1/deliveries: a tenant key manages its own endpoints and sees their
deliveries only; an admin key every tenant's; secrets appear once, at creation."""

from __future__ import annotations

import pytest

from workhorse.jobs import JobState

from .support import Api, error_of

URL = "https://hooks.example.com/workhorse"


def _create(api: Api, key: str | None = "acme", **body: object) -> dict[str, object]:
    body = {"url": URL, "tenant": key, **body}
    response = api.client(key).post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_a_tenant_creates_an_endpoint_and_sees_its_secret_once(api: Api) -> None:
    created = _create(api, events=["job.dead"])
    assert str(created["secret"]).startswith("whsec_")
    hook = created["webhook"]
    assert isinstance(hook, dict)
    assert (hook["tenant"], hook["url"], hook["events"]) == ("acme", URL, ["job.dead"])
    listed = api.client("acme").get("/v1/webhooks")
    assert listed.json()["webhooks"] == [hook]
    assert "secret" not in listed.text and str(created["secret"]) not in listed.text


def test_an_admin_names_the_tenant(api: Api) -> None:
    assert error_of(api.client(None).post("/v1/webhooks", json={"url": URL}))[0] == 422
    created = _create(api, None, tenant="globex")
    assert isinstance(created["webhook"], dict) and created["webhook"]["tenant"] == "globex"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "tenant": "acme"},
        {"url": "http://127.0.0.1/x", "tenant": "acme"},
        {"url": URL, "tenant": "acme", "events": ["job.exploded"]},
        {"url": URL, "tenant": "globex"},
        {"url": URL, "tenant": "acme", "secret": "mine"},
    ],
)
def test_bad_endpoints_are_refused(api: Api, body: dict[str, object]) -> None:
    status, _ = error_of(api.client("acme").post("/v1/webhooks", json=body))
    assert status in {403, 422}


def test_tenants_cannot_see_or_change_each_others_endpoints(api: Api) -> None:
    theirs = _create(api, "globex")["webhook"]
    assert isinstance(theirs, dict)
    acme = api.client("acme")
    assert acme.get("/v1/webhooks").json()["webhooks"] == []
    for method, path in [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("POST", "/rotate-secret"),
        ("POST", "/finish-rotation"),
    ]:
        response = acme.request(method, f"/v1/webhooks/{theirs['id']}{path}")
        assert error_of(response) == (404, "not_found"), (method, path)
    assert api.client("globex").get(f"/v1/webhooks/{theirs['id']}").status_code == 200


def test_rotate_then_delete(api: Api) -> None:
    hook = _create(api)["webhook"]
    assert isinstance(hook, dict)
    acme = api.client("acme")
    rotated = acme.post(f"/v1/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    assert acme.post(f"/v1/webhooks/{hook['id']}/finish-rotation").status_code == 200
    assert acme.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert acme.get(f"/v1/webhooks/{hook['id']}").status_code == 404


def test_deliveries_attempts_and_redeliver_are_per_tenant(api: Api) -> None:
    _create(api, "acme")
    _create(api, "globex")
    api.finish(api.enqueue(tenant="acme"), JobState.SUCCEEDED)
    api.finish(api.enqueue(tenant="globex"), JobState.SUCCEEDED)
    acme, globex = api.client("acme"), api.client("globex")
    [mine] = acme.get("/v1/deliveries").json()["deliveries"]
    assert (mine["event_type"], mine["state"], mine["attempts"]) == ("job.succeeded", "pending", 0)
    assert mine["event_id"].startswith("evt_")
    assert acme.get(f"/v1/deliveries/{mine['id']}/attempts").json() == {"attempts": []}
    again = acme.post(f"/v1/deliveries/{mine['id']}/redeliver")
    assert again.status_code == 200 and again.json()["state"] == "pending"
    assert error_of(globex.post(f"/v1/deliveries/{mine['id']}/redeliver")) == (404, "not_found")
    assert error_of(globex.get(f"/v1/deliveries/{mine['id']}/attempts")) == (404, "not_found")
    assert len(api.client(None).get("/v1/deliveries").json()["deliveries"]) == 2
    filtered = acme.get("/v1/deliveries", params={"state": "delivered"}).json()
    assert filtered == {"deliveries": []}
