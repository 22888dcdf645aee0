"""The worker's metrics endpoint (``--metrics-port``): private with a token, a probe without."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workhorse.observability.exposition import (
    MetricsServer,
    check_metrics_token,
    exposition_registry,
)
from workhorse.observability.metrics import WorkerMetrics

TOKEN = "worker-metrics-token-0123456789"


@pytest.fixture
def served() -> Iterator[str]:
    metrics = WorkerMetrics()
    metrics.slots.set(4)
    server = MetricsServer(exposition_registry(metrics.registry), "127.0.0.1", 0, token=TOKEN)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_metrics_need_the_token(served: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all"}):
        response = httpx.get(f"{served}/metrics", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "workhorse_" not in response.text
    scraped = httpx.get(f"{served}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert "workhorse_worker_slots 4.0" in scraped.text


def test_the_probe_needs_no_token_and_shows_nothing(served: str) -> None:
    response = httpx.get(f"{served}/healthz", timeout=5)
    assert (response.status_code, response.text) == (200, "ok\n")


def test_without_a_token_metrics_are_open_to_whoever_reaches_the_port() -> None:
    server = MetricsServer(exposition_registry(WorkerMetrics().registry), "127.0.0.1", 0)
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
    finally:
        server.stop()
    assert response.status_code == 200
    assert "workhorse_worker_slots" in response.text


@pytest.mark.parametrize("token", ["short", "sixteen chars ok", "ünïcödé-token-of-length"])
def test_weak_or_unsendable_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="metrics token"):
        check_metrics_token(token)
