"""POST /v1/events: one job per subscribed task, idempotent by event id, per tenant."""

from __future__ import annotations

from typing import Any

from .support import Api, error_of


def _subscribe(api: Api) -> None:
    @api.app.task(on_event="order.created")
    def ship(event: dict[str, Any]) -> None:
        del event

    @api.app.task(on_event=["order.created", "order.paid"])
    def bill(event: dict[str, Any]) -> None:
        del event


def test_an_event_enqueues_each_subscribed_task_once(api: Api) -> None:
    _subscribe(api)
    acme = api.client("acme")
    body = {"type": "order.created", "id": "order-42", "data": {"order": 42}}
    first = acme.post("/v1/events", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and len(first.json()["job_ids"]) == 2
    again = acme.post("/v1/events", json=body)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    jobs = [api.app.get_job(job_id) for job_id in first.json()["job_ids"]]
    assert sorted(job.task for job in jobs) == ["bill", "ship"]
    assert {job.tenant for job in jobs} == {"acme"}
    assert jobs[0].args == [
        {"id": "order-42", "type": "order.created", "tenant": "acme", "data": {"order": 42}}
    ]


def test_event_ids_are_per_tenant_and_an_event_without_subscribers_enqueues_nothing(
    api: Api,
) -> None:
    _subscribe(api)
    body = {"type": "order.paid", "id": "same"}
    assert len(api.client("acme").post("/v1/events", json=body).json()["job_ids"]) == 1
    assert api.client("globex").post("/v1/events", json=body).status_code == 201
    nobody = api.client("acme").post("/v1/events", json={"type": "order.shipped"})
    assert nobody.status_code == 201 and nobody.json()["job_ids"] == []
    assert nobody.json()["id"]


def test_bad_events_are_refused(api: Api) -> None:
    acme = api.client("acme")
    assert (
        error_of(acme.post("/v1/events", json={"type": "order.created", "tenant": "globex"}))[0]
        == 403
    )
    for body in ({"type": "no spaces"}, {"type": ""}, {"type": "x", "extra": 1}, {}):
        assert error_of(acme.post("/v1/events", json=body))[0] == 422
