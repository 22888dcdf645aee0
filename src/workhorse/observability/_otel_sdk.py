"""The OpenTelemetry SDK side of tracing set-up; imported only when the ``otel`` extra is there."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

log = logging.getLogger("workhorse.tracing")


def tracer_provider(exporters: Sequence[str], service_name: str) -> TracerProvider | None:
    """A provider exporting through ``exporters`` (``otlp``, ``console``) in batches; None when
    none of them is known."""
    found = [exporter for name in exporters if (exporter := _exporter(name)) is not None]
    if not found:
        return None
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create; ours is only
    # the default.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in found:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        )
        if protocol and protocol != "http/protobuf":
            log.warning("OTLP protocol %r is not supported here; exporting http/protobuf", protocol)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    log.warning("unknown OTEL_TRACES_EXPORTER %r ignored (known: otlp, console)", name)
    return None
