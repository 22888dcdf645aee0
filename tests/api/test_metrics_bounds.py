"""Labels that clients choose cannot grow ``/metrics`` (or the API's memory) without bound."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from workhorse.api import ApiSettings
from workhorse.observability.gauges import GaugeSettings

from .support import Api, Clock, served_api

TOP_QUEUES = 20
TOKEN = "metrics-token-for-tests-0123"
SETTINGS = ApiSettings(
    metrics_token=TOKEN, gauges=GaugeSettings(interval=timedelta(0), top_queues=TOP_QUEUES)
)
MAX_EXPOSITION = 48 * 1024
"""Bytes: what /metrics may weigh however many queues clients invent (about 12 KB with none)."""
MAX_GROWTH = 512 * 1024
"""Bytes the metrics code may hold on to between 2,000 and 10,000 queue names."""


@pytest.fixture
def served(store_url: str, clock: Clock) -> Iterator[Api]:
    with served_api(store_url, clock, SETTINGS) as api:
        yield api


def _enqueue_distinct_queues(client: httpx.Client, start: int, count: int) -> None:
    for first in range(start, start + count, 1000):
        batch = {"jobs": [{"task": "add", "queue": f"q{n}"} for n in range(first, first + 1000)]}
        response = client.post("/v1/jobs/batch", json=batch)
        assert response.status_code == 201, response.text


def _metrics_memory(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes allocated by the metrics code (ours and prometheus_client's) still held."""
    return sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if "workhorse/observability" in stat.traceback[0].filename
        or "prometheus_client" in stat.traceback[0].filename
    )


def test_ten_thousand_queue_names_keep_metrics_small(served: Api) -> None:
    client = served.client("acme")
    scrape = served.anonymous()
    scrape.headers["Authorization"] = f"Bearer {TOKEN}"
    _enqueue_distinct_queues(client, 0, 2000)
    assert scrape.get("/metrics").status_code == 200
    tracemalloc.start()
    try:
        before = _metrics_memory(tracemalloc.take_snapshot())
        _enqueue_distinct_queues(client, 2000, 8000)
        response = scrape.get("/metrics")
        after = _metrics_memory(tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert len(response.content) < MAX_EXPOSITION, f"/metrics is {len(response.content)} bytes"
    assert after - before < MAX_GROWTH, f"the metrics code grew by {after - before} bytes"
    queues = {
        family.name: {sample.labels["queue"] for sample in family.samples}
        for family in text_string_to_metric_families(response.text)
        if any("queue" in sample.labels for sample in family.samples)
    }
    assert set(queues) == {"workhorse_jobs_enqueued", "workhorse_queue_jobs"}
    for name, values in queues.items():
        assert len(values) == TOP_QUEUES + 1 and "other" in values, (name, sorted(values))
