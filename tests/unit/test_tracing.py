"""Tracing helpers: the trace context a job carries, spans only when an SDK provider is in use."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from workhorse.observability import _otel_sdk, tracing

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_without_an_sdk_provider_nothing_is_recorded_or_stored() -> None:
    assert not tracing.enabled()
    with tracing.enqueue_span(3, None) as context:
        assert context is None
    with tracing.client_span("claim", {}) as span:
        assert span is None


def test_the_enqueue_span_is_a_producer_under_the_current_span(
    exporter: InMemorySpanExporter,
) -> None:
    assert tracing.enabled()
    with (
        tracing.tracer().start_as_current_span("request") as request,
        tracing.enqueue_span(1, "send") as stored,
    ):
        current = trace.get_current_span().get_span_context()
    [enqueue, _] = exporter.get_finished_spans()
    assert enqueue.name == "enqueue send"
    assert enqueue.kind is trace.SpanKind.PRODUCER
    assert enqueue.parent is not None
    assert enqueue.parent.span_id == request.get_span_context().span_id
    assert enqueue.attributes is not None
    assert enqueue.attributes["messaging.batch.message_count"] == 1
    assert stored is not None
    parent = json.loads(stored)["traceparent"]
    assert parent.startswith(f"00-{current.trace_id:032x}-{current.span_id:016x}-")
    assert current.span_id == enqueue.context.span_id


def test_a_stored_context_is_continued(exporter: InMemorySpanExporter) -> None:
    stored = json.dumps({"traceparent": TRACEPARENT, "tracestate": "vendor=x"})
    with tracing.tracer().start_as_current_span("execute", context=tracing.extract(stored)):
        pass
    [span] = exporter.get_finished_spans()
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert span.parent is not None
    assert span.parent.span_id == 0xB7AD6B7169203331
    assert span.context.trace_state.get("vendor") == "x"


@pytest.mark.parametrize("stored", [None, "", "not json", "[1]", '{"traceparent": "garbage"}'])
def test_unreadable_contexts_start_no_trace(stored: str | None) -> None:
    context = tracing.extract(stored)
    assert context is None or not trace.get_current_span(context).get_span_context().is_valid


def test_the_trace_id_of_a_stored_context() -> None:
    assert tracing.trace_id_of(json.dumps({"traceparent": TRACEPARENT})) == (
        "0af7651916cd43dd8448eb211c80319c"
    )
    assert tracing.trace_id_of(None) is None
    assert tracing.trace_id_of("[]") is None
    assert tracing.trace_id_of('{"traceparent": "00-short-x-01"}') is None


def test_client_spans_record_claims_and_completions(exporter: InMemorySpanExporter) -> None:
    with tracing.client_span("claim", {"workhorse.claim.limit": 10}) as span:
        span.set_attribute("workhorse.claim.count", 3)
    [claim] = exporter.get_finished_spans()
    assert (claim.name, claim.kind) == ("claim", trace.SpanKind.CLIENT)
    assert claim.attributes == {"workhorse.claim.limit": 10, "workhorse.claim.count": 3}


def test_configure_from_env_does_nothing_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert tracing.configure_from_env("workhorse-test") is False
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.configure_from_env("workhorse-test") is False
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure_from_env("workhorse-test") is False
    assert not tracing.enabled()


def test_the_sdk_provider_exports_as_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = _otel_sdk.tracer_provider(["console", "otlp"], "workhorse-worker")
    assert provider is not None
    assert provider.resource.attributes[SERVICE_NAME] == "workhorse-worker"
    provider.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-jobs")
    named = _otel_sdk.tracer_provider(["console"], "workhorse-worker")
    assert named is not None
    assert named.resource.attributes[SERVICE_NAME] == "billing-jobs"
    named.shutdown()
    assert _otel_sdk.tracer_provider(["zipkin"], "workhorse-worker") is None
