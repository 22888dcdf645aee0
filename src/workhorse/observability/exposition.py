"""Serving metrics: the text exposition of several registries at once, and the worker's HTTP
endpoint (``--metrics-port``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger("workhorse.metrics")


class Include:
    """A collector that re-exposes everything another registry (or collector) holds."""

    def __init__(self, source: Collector) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        return self._source.collect()

    def describe(self) -> Iterable[Metric]:
        return []


def exposition_registry(*sources: Collector) -> CollectorRegistry:
    """One registry exposing ``sources`` and this process's CPU, memory and file descriptors."""
    registry = CollectorRegistry()
    for source in sources:
        registry.register(Include(source))
    ProcessCollector(registry=registry)
    return registry


class MetricsServer:
    """``GET /metrics`` (any path, in fact) on ``host:port`` in a daemon thread, until ``stop``."""

    def __init__(self, registry: Collector, host: str, port: int) -> None:
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, host, registry)
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
