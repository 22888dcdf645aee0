"""``/v1/usage``: totals per tenant, task or queue with their cost, and each tenant's hours;
a tenant key sees its own tenant only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Api, error_of


def _ran(api: Api, job_id: int, *, wall: float, cpu: float, slots: int = 1) -> None:
    """Run queued job ``job_id`` to success, as a worker that measured its usage would."""
    [claimed] = api.app.backend.job_claim(
        b.JobClaimParams(
            worker_id="usage-worker",
            queues=["default"],
            limit=1,
            lease_token=f"lease-{job_id}",
            lease_for=timedelta(seconds=30),
            now=api.clock(),
        )
    )
    used = b.AttemptUsage(wall_seconds=wall, cpu_seconds=cpu, slots=slots)
    outcome = b.Outcome(
        id=claimed.id,
        lease_token=claimed.lease_token,
        attempt=claimed.attempt,
        state=JobState.SUCCEEDED,
        result_json="3",
        usage=used,
    )
    params = b.JobFinishManyParams(outcomes=[outcome], now=api.clock())
    assert api.app.backend.job_finish_many(params) == [claimed.id]


def _usage(api: Api, key: str | None, **query: Any) -> dict[str, Any]:
    response = api.client(key).get("/v1/usage", params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def used(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("WORKHORSE_PRICE_CPU_HOUR", "3.6")
    monkeypatch.setenv("WORKHORSE_PRICE_SLOT_HOUR", "36")
    _ran(api, api.enqueue(tenant="acme"), wall=10.0, cpu=5.0)
    _ran(api, api.enqueue(tenant="acme"), wall=2.0, cpu=1.0, slots=4)
    _ran(api, api.enqueue(tenant="globex"), wall=1.0, cpu=1.0)
    return api


def test_an_admin_sees_every_tenant_costliest_first(used: Api) -> None:
    body = _usage(used, None)
    assert (body["by"], body["tenant"]) == ("tenant", None)
    assert body["prices"] == {"cpu_hour": 3.6, "slot_hour": 36.0}
    acme, globex = body["totals"]
    assert (acme["key"], acme["jobs"], acme["attempts"]) == ("acme", 2, 2)
    assert acme["worker_seconds"] == pytest.approx(10.0 + 8.0)
    assert acme["cpu_seconds"] == pytest.approx(6.0)
    # per hour: 3.6 per CPU-hour is 0.001 per CPU-second; 36 per slot-hour is 0.01 per second
    assert acme["cost"] == pytest.approx(6.0 * 0.001 + 18.0 * 0.01)
    assert globex["key"] == "globex" and globex["cost"] < acme["cost"]
    assert {hour["tenant"] for hour in body["hours"]} == {"acme", "globex"}


def test_a_tenant_key_sees_only_its_own_usage(used: Api) -> None:
    body = _usage(used, "globex")
    assert body["tenant"] == "globex"
    assert [total["key"] for total in body["totals"]] == ["globex"]
    assert {hour["tenant"] for hour in body["hours"]} == {"globex"}
    response = used.client("globex").get("/v1/usage", params={"tenant": "acme"})
    assert error_of(response) == (403, "forbidden")


def test_usage_by_task_and_queue(used: Api) -> None:
    assert [t["key"] for t in _usage(used, None, by="task")["totals"]] == ["add"]
    [queue] = _usage(used, None, by="queue")["totals"]
    assert (queue["key"], queue["jobs"]) == ("default", 3)


@pytest.mark.parametrize("query", [{"by": "colour"}, {"since": 10}, {"since": "soon"}])
def test_bad_usage_queries_are_refused(api: Api, query: dict[str, Any]) -> None:
    response = api.client(None).get("/v1/usage", params=query)
    assert error_of(response)[0] == 422


def test_usage_outside_the_window_is_not_counted(used: Api) -> None:
    used.clock.advance(timedelta(days=2))
    assert _usage(used, None, since=3600)["totals"] == []
