"""Tracing with OpenTelemetry: one trace from the code that enqueued a job to every attempt of it.

At enqueue, a ``enqueue`` span (a producer) is started under whatever span is current (an HTTP
request's, say) and its W3C trace context (``traceparent``, and ``tracestate`` when there is one)
is stored with each job, as the propagator's carrier in JSON. Each attempt's ``execute`` span (a
consumer) is a child of that stored context, so a job and all its retries sit in the enqueuer's
trace. Claims and completions get spans of their own.

A workflow's submit is one ``workhorse.workflow.submit`` span (a producer, under whatever span
is current) whose context every step stores, so each step's ``execute`` spans are its children
and a whole workflow is one trace.

Only the OpenTelemetry API is a dependency. Until an SDK tracer provider is installed (the
``otel`` extra, set up by :func:`configure_from_env` from the standard ``OTEL_*`` variables, or
by the embedding program), :func:`enabled` is False and every helper here returns at once: no
span, no context stored.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("workhorse.tracing")

TRACER_NAME = "workhorse"
_propagator = TraceContextTextMapPropagator()
_override: trace.TracerProvider | None = None
_cached: tuple[trace.TracerProvider, Tracer] | None = None
_RECHECK = 1.0
"""Seconds between looks at the global provider: ``enabled`` is on the per-job path."""
_global_checked_at = -math.inf
_global_enabled = False
_NO_CONTEXT: AbstractContextManager[str | None] = nullcontext(None)


def use_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Make Workhorse's spans with ``provider`` instead of the global one (tests, embedding);
    None goes back to the global provider."""
    global _override, _global_checked_at
    _override = provider
    _global_checked_at = -math.inf


def provider() -> trace.TracerProvider:
    return _override if _override is not None else trace.get_tracer_provider()


def enabled() -> bool:
    """Whether spans are recorded: an SDK (not the API's no-op) provider is in use. A global
    provider installed by other code is noticed within a second."""
    global _global_checked_at, _global_enabled
    if _override is not None:
        return _is_sdk(_override)
    now = time.monotonic()
    if now - _global_checked_at >= _RECHECK:
        _global_enabled = _is_sdk(trace.get_tracer_provider())
        _global_checked_at = now
    return _global_enabled


def _is_sdk(candidate: trace.TracerProvider) -> bool:
    return not isinstance(candidate, ProxyTracerProvider | NoOpTracerProvider)


def tracer() -> Tracer:
    """Workhorse's tracer from the current provider (made once per provider)."""
    global _cached
    current = provider()
    if _cached is None or _cached[0] is not current:
        from workhorse import __version__

        _cached = (current, current.get_tracer(TRACER_NAME, __version__))
    return _cached[1]


# -- the trace context that travels with a job -----------------------------------------------


def capture() -> str | None:
    """The current trace context as a JSON carrier (``traceparent`` and maybe ``tracestate``),
    or None when no span is current."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return json.dumps(carrier, sort_keys=True, separators=(",", ":")) if carrier else None


def extract(trace_context: str | None) -> Context | None:
    """The context a stored carrier describes; None when there is none or it is unreadable."""
    if not trace_context:
        return None
    try:
        carrier = json.loads(trace_context)
    except ValueError:
        return None
    if not isinstance(carrier, dict):
        return None
    return _propagator.extract(carrier)


def trace_id_of(trace_context: str | None) -> str | None:
    """The trace id in a stored carrier's ``traceparent`` (for logs), without parsing JSON when
    there is nothing to parse."""
    if not trace_context:
        return None
    try:
        parent = json.loads(trace_context).get("traceparent", "")
    except (ValueError, AttributeError):
        return None
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def enqueue_span(count: int, task: str | None) -> AbstractContextManager[str | None]:
    """Around an enqueue of ``count`` jobs: yields the trace context to store with them (None,
    at no cost, when tracing is off)."""
    if not enabled():
        return _NO_CONTEXT
    return _enqueue_span(count, task)


@contextmanager
def _enqueue_span(count: int, task: str | None) -> Iterator[str | None]:
    attributes: dict[str, Any] = {
        "messaging.system": "workhorse",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": count,
    }
    if task is not None:
        attributes["workhorse.job.task"] = task
    name = "enqueue" if task is None else f"enqueue {task}"
    with tracer().start_as_current_span(name, kind=SpanKind.PRODUCER, attributes=attributes):
        yield capture()


def workflow_span(name: str, tenant: str, steps: int) -> AbstractContextManager[Any]:
    """Around a workflow's submit: yields its span (None, at no cost, when tracing is off), the
    current span inside, so :func:`capture` gives the context its steps store."""
    if not enabled():
        return nullcontext(None)
    attributes: dict[str, Any] = {
        "messaging.system": "workhorse",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": steps,
        "workhorse.workflow.name": name,
        "workhorse.workflow.tenant": tenant,
        "workhorse.workflow.steps": steps,
    }
    return tracer().start_as_current_span(
        "workhorse.workflow.submit", kind=SpanKind.PRODUCER, attributes=attributes
    )


def client_span(name: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A span around one database operation (claims, completions); nothing when off."""
    if not enabled():
        return nullcontext(None)
    return tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)


# -- set-up from the environment -------------------------------------------------------------


def configure_from_env(service_name: str) -> bool:
    """Install an SDK tracer provider when the standard variables ask for one.

    ``OTEL_TRACES_EXPORTER`` (comma-separated: ``otlp``, ``console``; unset or ``none``: tracing
    stays off) picks the exporters; the SDK itself reads the rest (``OTEL_EXPORTER_OTLP_*``,
    ``OTEL_TRACES_SAMPLER``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``, which wins
    over ``service_name``). Nothing is done when a provider is already installed (for example by
    ``opentelemetry-instrument``) or ``OTEL_SDK_DISABLED`` is true. Returns whether tracing is on.
    """
    names = _exporter_names()
    if _is_sdk(trace.get_tracer_provider()) or not names or _sdk_disabled():
        return enabled()
    try:
        from workhorse.observability import _otel_sdk
    except ImportError:
        log.warning(
            "OTEL_TRACES_EXPORTER=%s but the OpenTelemetry SDK is not installed: "
            "pip install 'workhorse[otel]'; tracing stays off",
            ",".join(names),
        )
        return False
    provider_ = _otel_sdk.tracer_provider(names, service_name)
    if provider_ is None:
        return False
    trace.set_tracer_provider(provider_)
    use_tracer_provider(_override)  # look at the new global provider at once
    return enabled()


def _exporter_names() -> list[str]:
    value = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    return [name.strip() for name in value.split(",") if name.strip() not in ("", "none")]


def _sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
