"""The API server's observability: its metrics registry and a server span per HTTP request."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workhorse.app import Workhorse
from workhorse.observability import tracing
from workhorse.observability.exposition import exposition_registry
from workhorse.observability.gauges import DatabaseGauges, GaugeSettings

_propagator = TraceContextTextMapPropagator()
_TRACE_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}


@dataclass(frozen=True, slots=True)
class ApiTelemetry:
    """What ``GET /metrics`` exposes (the app's counters, the database gauges, the process) and
    the gauges ``GET /v1/autoscale`` reads."""

    gauges: DatabaseGauges
    registry: CollectorRegistry

    @classmethod
    def of(cls, app: Workhorse, settings: GaugeSettings) -> ApiTelemetry:
        gauges = DatabaseGauges(app, settings)
        app.metrics.limit_queues(settings.top_queues)
        return cls(gauges=gauges, registry=exposition_registry(app.metrics.registry, gauges))


class TraceRequests:
    """ASGI middleware: a server span per HTTP request, a child of the caller's ``traceparent``
    (W3C trace context) when it sent one. Spans enqueued jobs start under are these. Nothing is
    done while tracing is off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        carrier = {
            _TRACE_HEADERS[name]: value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        method = scope["method"]
        span = tracing.tracer().start_span(
            method,
            context=_propagator.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            route = route_template(scope)
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            otel_context.detach(token)
            span.end()


def route_template(scope: Scope) -> str | None:
    """The matched route's path template with the prefixes it was included under, e.g.
    ``/v1/jobs/{job_id}`` (low-cardinality, unlike the path itself); None when nothing matched.

    The router leaves the route in the scope; depending on the FastAPI version its path has the
    include prefixes or not, so the prefix is read off the request path: the part before the
    route's pattern matches the rest.
    """
    route = scope.get("route")
    pattern = getattr(route, "path_regex", None)
    template = getattr(route, "path_format", None)
    path = scope.get("path")
    if pattern is None or not isinstance(template, str) or not isinstance(path, str):
        return None
    for index, char in enumerate(path):
        if char == "/" and pattern.match(path[index:]):
            return path[:index] + template
    return None
