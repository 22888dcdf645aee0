"""``GET /metrics`` (with the metrics token) and ``GET /v1/autoscale`` (admin) on the served
API."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from workhorse.api import ApiSettings
from workhorse.jobs import JobState
from workhorse.observability.autoscale import AutoscaleSettings
from workhorse.observability.gauges import GaugeSettings
from workhorse.observability.labels import tenant_label

from .support import Api, Clock, error_of, served_api

TOKEN = "metrics-token-for-tests-0123"
SETTINGS = ApiSettings(
    metrics_token=TOKEN,
    gauges=GaugeSettings(
        interval=timedelta(0),  # the test's clock stands still: read the database every scrape
        top_tenants=2,
        autoscale=AutoscaleSettings(slots_per_worker=4, headroom=0, max_workers=50),
    ),
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def served(store_url: str, clock: Clock, request: pytest.FixtureRequest) -> Iterator[Api]:
    with served_api(store_url, clock, getattr(request, "param", SETTINGS)) as api:
        yield api


def _scrape(api: Api) -> tuple[str, Samples]:
    response = api.anonymous().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.mark.parametrize("served", [ApiSettings()], indirect=True, ids=["no-token"])
def test_metrics_are_off_without_a_metrics_token(served: Api) -> None:
    response = served.anonymous().get("/metrics")
    assert error_of(response) == (404, "not_found")
    assert "--metrics-token" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-of-some-length", f"Basic {TOKEN}", f"Bearer {TOKEN}x"],
    ids=["none", "wrong", "not-bearer", "longer"],
)
def test_metrics_need_the_metrics_token(served: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = served.anonymous().get("/metrics", headers=headers)
    assert error_of(response) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "workhorse_" not in response.text


def test_an_admin_key_is_not_a_metrics_token(served: Api) -> None:
    assert error_of(served.client(None).get("/metrics")) == (401, "unauthorized")


def test_metrics_count_jobs_enqueued_over_http(served: Api) -> None:
    client = served.client("acme")
    assert client.post("/v1/jobs", json={"task": "add", "args": [1, 2]}).status_code == 201
    batch = {"jobs": [{"task": "send", "args": ["a@x"]}, {"task": "send", "args": ["b@x"]}]}
    assert client.post("/v1/jobs/batch", json=batch).status_code == 201
    again = {"task": "add", "args": [1, 2]}
    for _ in range(2):  # the same Idempotency-Key twice: one job
        client.post("/v1/jobs", json=again, headers={"Idempotency-Key": "k1"})
    _, samples = _scrape(served)
    assert _value(samples, "workhorse_jobs_enqueued_total", queue="default", task="add") == 2
    assert _value(samples, "workhorse_jobs_enqueued_total", queue="mail", task="send") == 2
    rounds = _value(samples, "workhorse_db_round_trip_seconds_count", operation="enqueue")
    assert rounds == 4


def test_queue_depth_and_tenant_series_come_from_the_database(served: Api) -> None:
    for tenant, count in (("acme", 3), ("globex", 2), ("initech", 1), ("umbrella", 1)):
        for _ in range(count):
            served.enqueue("add", tenant)
    served.enqueue("send", "acme")
    running = served.enqueue("add", "globex")
    served.finish(running, JobState.SUCCEEDED)
    served.enqueue("add", "globex", delay=timedelta(hours=1))
    _, samples = _scrape(served)
    assert _value(samples, "workhorse_queue_jobs", queue="default", state="queued") == 7
    assert _value(samples, "workhorse_queue_jobs", queue="default", state="scheduled") == 1
    assert _value(samples, "workhorse_queue_jobs", queue="default", state="running") == 0
    assert _value(samples, "workhorse_queue_jobs", queue="mail", state="queued") == 1
    # Two tenants of their own (top_tenants=2), the others summed; names hidden by default.
    assert _waiting(samples) == {tenant_label("acme"): 4, tenant_label("globex"): 3, "other": 2}
    assert _value(samples, "workhorse_backlog_jobs") == 8
    assert _value(samples, "workhorse_database_up") == 1
    assert "acme" not in _scrape(served)[0]


def _workflow(served: Api, name: str, *steps: dict[str, Any]) -> dict[str, Any]:
    response = served.client("acme").post("/v1/workflows", json={"name": name, "steps": steps})
    assert response.status_code == 201, response.text
    workflow: dict[str, Any] = response.json()
    return workflow


def test_blocked_jobs_and_workflows_are_gauges(served: Api) -> None:
    parent = served.enqueue("add", "acme")
    served.app.enqueue("add", [1, 1], tenant="acme", after=[parent])
    served.app.enqueue("send", ["x@example.com"], tenant="acme", after=[parent])
    top: dict[str, Any] = {"key": "top", "task": "add", "args": [1, 2]}
    _workflow(served, "running", top, {"key": "next", "task": "add", "after": ["top"]})
    failed = _workflow(served, "failed", top)
    served.finish(failed["steps"][0]["job_id"], JobState.DEAD)
    cancelled = _workflow(served, "cancelled", top)
    served.client("acme").post(f"/v1/workflows/{cancelled['id']}/cancel")
    _, samples = _scrape(served)
    assert _value(samples, "workhorse_queue_jobs", queue="default", state="blocked") == 2
    assert _value(samples, "workhorse_queue_jobs", queue="mail", state="blocked") == 1
    assert _value(samples, "workhorse_workflows_running") == 1
    ended = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "workhorse_workflows_ended"
    }
    assert ended == {"succeeded": 0, "failed": 1, "cancelled": 1}


def test_result_waiters_count_the_callers_waiting_in_this_process(served: Api) -> None:
    job_id = served.enqueue("add", "acme")
    assert _value(_scrape(served)[1], "workhorse_result_waiters") == 0
    polls: list[httpx.Response] = []

    def poll() -> None:
        with served.client("acme") as client:
            polls.append(client.get(f"/v1/jobs/{job_id}", params={"wait": 30}, timeout=40))

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for poller in pollers:
        poller.start()
    deadline = time.monotonic() + 10
    while served.app.waiters.waiters < 3:
        assert time.monotonic() < deadline, "the long polls did not start waiting"
        time.sleep(0.01)
    assert _value(_scrape(served)[1], "workhorse_result_waiters") == 3
    served.finish(job_id, JobState.SUCCEEDED)
    for poller in pollers:
        poller.join(40)
    assert [response.json()["state"] for response in polls] == ["succeeded"] * 3
    assert _value(_scrape(served)[1], "workhorse_result_waiters") == 0


def _waiting(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["tenant"]: value
        for (name, labels), value in samples.items()
        if name == "workhorse_tenant_waiting_jobs"
    }


NAMES = replace(SETTINGS, gauges=replace(SETTINGS.gauges, tenant_names=True))


@pytest.mark.parametrize("served", [NAMES], indirect=True, ids=["tenant-names"])
def test_tenant_names_are_labels_only_when_allowed(served: Api) -> None:
    served.enqueue("add", "acme")
    _, samples = _scrape(served)
    assert _waiting(samples) == {"acme": 1, "other": 0}


def test_the_exposition_passes_promtool(served: Api) -> None:
    served.enqueue("add")
    text, _ = _scrape(served)
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: run scripts/ensure-services.sh"
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == result.stderr.strip() == ""


def test_autoscale_needs_an_admin_key(served: Api) -> None:
    assert error_of(served.anonymous().get("/v1/autoscale")) == (401, "unauthorized")
    assert error_of(served.client("acme").get("/v1/autoscale")) == (403, "forbidden")


def test_autoscale_reports_the_decision_and_its_inputs(served: Api) -> None:
    for _ in range(12):
        served.enqueue("add")
    admin = served.client(None)
    body = admin.get("/v1/autoscale").json()
    # 12 waiting / 60 s drain target = 0.2 slots; / 4 per worker, no headroom: 1 worker. The
    # 12 were created within the window: 0.2 jobs/s.
    assert body["backlog"] == 12
    assert body["arrival_rate_per_s"] == pytest.approx(12 / 60)
    assert body["slots_per_worker"] == 4
    assert body["desired_workers"] == body["target_workers"] == 1
    assert body["current_workers"] == 0
    assert (body["min_workers"], body["max_workers"], body["headroom"]) == (1, 50, 0)
    assert body["cooldown_seconds"] == 300
    assert body["database_up"] is True
    for _ in range(300):
        served.enqueue("add")
    bigger = admin.get("/v1/autoscale").json()
    # 312 / 60 = 5.2 slots: 2 workers of 4.
    assert bigger["desired_workers"] == 2
    _, samples = _scrape(served)
    assert _value(samples, "workhorse_desired_workers") == 2


def test_metrics_keep_the_last_values_when_the_database_is_gone(served: Api) -> None:
    served.enqueue("add")
    _, before = _scrape(served)
    assert _value(before, "workhorse_queue_jobs", queue="default", state="queued") == 1
    served.app.backend.close()  # every later read fails
    _, after = _scrape(served)
    assert _value(after, "workhorse_database_up") == 0
    assert _value(after, "workhorse_queue_jobs", queue="default", state="queued") == 1
    response = httpx.get(f"{served.url}/healthz", timeout=10)
    assert response.status_code == 200
