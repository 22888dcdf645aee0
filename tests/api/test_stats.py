"""``/v1/stats`` (throughput and wait times), ``/v1/stats/workers`` and ``/v1/me``."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Api, error_of

MINUTE = timedelta(minutes=1)


def _stats(api: Api, key: str | None = "acme", **query: Any) -> dict[str, Any]:
    """``/v1/stats`` with the key of tenant ``key`` (None: an admin key)."""
    response = api.client(key).get("/v1/stats", params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _totals(body: dict[str, Any]) -> dict[str, int]:
    keys = ("finished", "succeeded", "dead", "cancelled")
    return {key: sum(bucket[key] for bucket in body["buckets"]) for key in keys}


def test_stats_cover_the_window_in_aligned_buckets(api: Api) -> None:
    body = _stats(api, None, window=600, bucket=60)
    assert (body["window"], body["bucket"], body["tenant"]) == (600, 60, None)
    starts = [datetime.fromisoformat(bucket["start"]) for bucket in body["buckets"]]
    assert len(starts) == 10
    assert {later - earlier for earlier, later in itertools.pairwise(starts)} == {MINUTE}
    assert all(start.second == 0 and start.microsecond == 0 for start in starts)
    until = datetime.fromisoformat(body["until"])
    assert starts[0] == datetime.fromisoformat(body["since"]) == until - timedelta(minutes=10)
    assert starts[-1] <= api.clock() < until, "the last bucket holds now"
    assert _totals(body) == {"finished": 0, "succeeded": 0, "dead": 0, "cancelled": 0}
    assert {bucket["wait_p50"] for bucket in body["buckets"]} == {None}


def test_stats_count_finished_jobs_and_their_waits(api: Api) -> None:
    waits = [1, 2, 3, 4]
    for wait in waits:
        job_id = api.enqueue()
        api.clock.advance(timedelta(seconds=wait))
        api.finish(job_id, JobState.SUCCEEDED)
    api.dead()
    api.app.cancel(api.enqueue())
    body = _stats(api, window=3600, bucket=3600)
    [bucket] = body["buckets"]
    assert _totals(body) == {"finished": 6, "succeeded": 4, "dead": 1, "cancelled": 1}
    # nearest rank over the five jobs that started: waits 0 (the dead one), 1, 2, 3, 4
    assert (bucket["wait_p50"], bucket["wait_p95"]) == (2.0, 4.0)


def test_stats_put_each_job_in_the_bucket_it_finished_in(api: Api) -> None:
    first = api.enqueue()
    api.finish(first, JobState.SUCCEEDED)
    api.clock.advance(timedelta(minutes=3))
    second = api.enqueue()
    api.finish(second, JobState.SUCCEEDED)
    body = _stats(api, window=600, bucket=60)
    finished = [bucket["finished"] for bucket in body["buckets"]]
    assert finished[-1] == 1
    assert finished[-4] == 1, "three buckets before the last one"
    assert sum(finished) == 2


def test_a_tenant_key_sees_only_its_own_numbers(api: Api) -> None:
    api.finish(api.enqueue(tenant="acme"), JobState.SUCCEEDED)
    for _ in range(2):
        api.dead(tenant="globex")
    assert _totals(_stats(api, "acme"))["finished"] == 1
    globex = _stats(api, "globex")
    assert (globex["tenant"], _totals(globex)["dead"]) == ("globex", 2)
    assert _totals(_stats(api, None))["finished"] == 3
    assert _totals(_stats(api, None, tenant="globex"))["finished"] == 2
    naming = api.client("acme").get("/v1/stats", params={"tenant": "globex"})
    assert error_of(naming) == (403, "forbidden")


@pytest.mark.parametrize(
    "query",
    [
        {"window": 59},
        {"window": 86_401},
        {"bucket": 0},
        {"bucket": 3601},
        {"window": "an hour"},
    ],
)
def test_stats_refuse_a_bad_window_or_bucket(api: Api, query: dict[str, Any]) -> None:
    response = api.client(None).get("/v1/stats", params=query)
    assert error_of(response)[0] == 422


@pytest.mark.parametrize(
    ("window", "bucket", "used"),
    [
        (3600, 7, (3605, 7)),  # the window rounded up to whole buckets
        (86_400, 1, (86_400, 60)),  # a bucket enlarged to keep within 1,440 buckets
        (86_399, 59, (86_400, 60)),
        (60, 1, (60, 1)),
    ],
)
def test_stats_round_a_window_and_bucket_that_do_not_fit_and_say_so(
    api: Api, window: int, bucket: int, used: tuple[int, int]
) -> None:
    body = _stats(api, None, window=window, bucket=bucket)
    assert (body["window"], body["bucket"]) == used
    assert len(body["buckets"]) == used[0] // used[1] <= 1440


def test_stats_need_a_key(api: Api) -> None:
    assert error_of(api.anonymous().get("/v1/stats")) == (401, "unauthorized")


def _heartbeat(api: Api, worker: str, concurrency: int) -> None:
    api.app.backend.worker_heartbeat(
        b.WorkerHeartbeatParams(
            id=worker,
            host="box",
            pid=42,
            queues=["default"],
            concurrency=concurrency,
            now=api.clock(),
            started_at=api.clock(),
        )
    )


def test_worker_loads_give_each_workers_running_jobs(api: Api) -> None:
    _heartbeat(api, "w1", 4)
    _heartbeat(api, "w2", 10)
    for _ in range(3):
        api.enqueue()
    claimed = api.app.backend.job_claim(
        b.JobClaimParams(
            worker_id="w1",
            queues=["default"],
            limit=3,
            lease_token="lease",
            lease_for=timedelta(seconds=30),
            now=api.clock(),
        )
    )
    assert len(claimed) == 3
    response = api.client(None).get("/v1/stats/workers")
    assert response.status_code == 200
    loads = {w["id"]: (w["running"], w["utilisation"]) for w in response.json()["workers"]}
    assert loads == {"w1": (3, 0.75), "w2": (0, 0.0)}


def test_worker_loads_are_for_admin_keys_only(api: Api) -> None:
    assert error_of(api.client("acme").get("/v1/stats/workers")) == (403, "forbidden")


def test_me_names_the_keys_scope(api: Api) -> None:
    admin = api.client(None).get("/v1/me").json()
    assert admin == {"key_prefix": admin["key_prefix"], "admin": True, "tenant": None}
    assert api.key(None).startswith(admin["key_prefix"])
    tenant = api.client("acme").get("/v1/me").json()
    assert (tenant["admin"], tenant["tenant"]) == (False, "acme")
    assert error_of(api.anonymous().get("/v1/me")) == (401, "unauthorized")
