"""Serving metrics: the text exposition of several registries at once, the worker's HTTP
endpoint (``--metrics-port``), and the bearer token that keeps either endpoint private."""

from __future__ import annotations

import hmac
import logging
import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from _typeshed.wsgi import WSGIApplication as WSGIApp

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


MIN_TOKEN_LENGTH = 16


def check_metrics_token(token: str) -> str:
    """``token``, if it can serve as the metrics bearer token: at least 16 printable ASCII
    characters without spaces (it travels in an HTTP header); ValueError otherwise."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"the metrics token must be at least {MIN_TOKEN_LENGTH} characters long")
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ValueError("the metrics token must be printable ASCII without spaces")
    return token


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (compared in constant
    time, so the comparison's duration says nothing about the token)."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def _guarded(metrics: WSGIApp, token: str | None) -> WSGIApp:
    """``GET /healthz`` for probes (no token: it shows nothing), every other path the metrics,
    behind the bearer ``token`` when there is one."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if token is not None and not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            headers = [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
            start_response("401 Unauthorized", headers)
            return [b"the metrics token is required: Authorization: Bearer <token>\n"]
        return metrics(environ, start_response)

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (one line every few seconds would drown the worker's logs)."""


class MetricsServer:
    """``GET /metrics`` (any path but ``/healthz``, in fact) on ``host:port`` in a daemon thread,
    until ``stop``. With a ``token``, scrapes must send it as a bearer token."""

    def __init__(
        self, registry: Collector, host: str, port: int, *, token: str | None = None
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = type("_Server", (ThreadingWSGIServer,), {"address_family": family})
        app = _guarded(make_wsgi_app(registry), token)
        self._server: WSGIServer = make_server(host, port, app, server, handler_class=_Quiet)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="workhorse-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", host, self.port)
        if token is None and host not in {"127.0.0.1", "::1", "localhost"}:
            log.warning(
                "metrics on %s:%d answer anyone who reaches them: set a token", host, self.port
            )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
