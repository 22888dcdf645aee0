"""One trace from an HTTP enqueue to every attempt of the job, on a real server and worker.

The SDK's in-memory exporter records Workhorse's spans (``tracing.use_tracer_provider``: the
global provider is left alone). A client sends ``POST /v1/jobs`` with a W3C ``traceparent``; the
job fails once and succeeds on its retry in a real worker.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from datetime import timedelta

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from conditions import wait_for
from workhorse import JobState, RetryPolicy, Worker, WorkerConfig, Workhorse, current_job
from workhorse.apikeys import create_key
from workhorse.scheduling.maintenance import MaintenanceConfig

from .support import running_api


class WorkerThread:
    """A real worker on its own event loop in a thread, promoting retries itself."""

    def __init__(self, app: Workhorse) -> None:
        config = WorkerConfig(
            concurrency=2,
            poll_interval=timedelta(milliseconds=20),
            heartbeat_interval=timedelta(seconds=1),
            grace=timedelta(seconds=5),
        )
        maintenance = MaintenanceConfig(promote_interval=timedelta(milliseconds=50))
        self.worker = Worker(app, config, maintenance=maintenance)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self.worker.run_async(),), daemon=True
        )

    def __enter__(self) -> Worker:
        self._thread.start()
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self.worker.stop)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the worker did not stop"
        self._loop.close()


def _app(url: str) -> Workhorse:
    app = Workhorse(url)

    @app.task(max_attempts=3, retry=RetryPolicy(base=timedelta(milliseconds=50)))
    def flaky(to: str) -> str:
        if current_job().attempt == 1:
            raise ConnectionError(f"{to} refused the first attempt")
        return f"sent to {to}"

    return app


def _attribute(span: ReadableSpan, name: str) -> int:
    value = (span.attributes or {})[name]
    assert isinstance(value, int)
    return value


def _one(found: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(found) == 1, f"expected one {what}, got {[s.name for s in found]}"
    return found[0]


def test_one_trace_links_an_http_enqueue_to_every_attempt(
    store_url: str, exporter: InMemorySpanExporter
) -> None:
    trace_id, caller_span = secrets.randbits(128) | 1, secrets.randbits(64) | 1
    traceparent = f"00-{trace_id:032x}-{caller_span:016x}-01"
    app = _app(store_url)
    try:
        token = create_key(app.backend, tenant="acme", name="t", now=app.clock()).token
        with running_api(app) as url, WorkerThread(app):
            headers = {"Authorization": f"Bearer {token}", "traceparent": traceparent}
            response = httpx.post(
                f"{url}/v1/jobs", json={"task": "flaky", "args": ["bob"]}, headers=headers
            )
            assert response.status_code == 201, response.text
            job_id = response.json()["id"]
            wait_for(
                lambda: app.get_job(job_id).state is JobState.SUCCEEDED,
                "the job to succeed on its retry",
            )
            assert app.get_job(job_id).attempts == 2
            wait_for(
                lambda: (
                    len([s for s in exporter.get_finished_spans() if s.name == "execute flaky"])
                    == 2
                ),
                "both attempts' spans",
            )
    finally:
        app.close()

    finished = exporter.get_finished_spans()
    server = _one([s for s in finished if s.kind is SpanKind.SERVER], "server span")
    assert server.name == "POST /v1/jobs"
    assert server.context.trace_id == trace_id
    assert server.parent is not None
    assert (server.parent.span_id, server.parent.is_remote) == (caller_span, True)
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 201

    enqueue = _one([s for s in finished if s.kind is SpanKind.PRODUCER], "enqueue span")
    assert enqueue.name == "enqueue flaky"
    assert enqueue.context.trace_id == trace_id
    assert enqueue.parent is not None
    assert enqueue.parent.span_id == server.context.span_id

    attempts = sorted(
        (s for s in finished if s.kind is SpanKind.CONSUMER),
        key=lambda s: int(_attribute(s, "workhorse.job.attempt")),
    )
    assert [s.name for s in attempts] == ["execute flaky", "execute flaky"]
    for number, attempt in enumerate(attempts, start=1):
        assert attempt.context.trace_id == trace_id
        assert attempt.parent is not None
        assert attempt.parent.span_id == enqueue.context.span_id
        assert attempt.attributes is not None
        assert attempt.attributes["workhorse.job.id"] == job_id
        assert attempt.attributes["workhorse.job.attempt"] == number
    first, second = attempts
    assert first.status.status_code is StatusCode.ERROR
    assert (first.attributes or {})["workhorse.job.outcome"] == "retried"
    assert [event.name for event in first.events] == ["exception"]
    assert second.status.status_code is StatusCode.UNSET
    assert (second.attributes or {})["workhorse.job.outcome"] == "succeeded"

    # Claims and completions have spans of their own, outside the job's trace.
    claims = [s for s in finished if s.name == "claim" and s.kind is SpanKind.CLIENT]
    completes = [s for s in finished if s.name == "complete" and s.kind is SpanKind.CLIENT]
    assert claims and completes
    assert all(s.context.trace_id != trace_id for s in claims + completes)
    assert sum(int(_attribute(s, "workhorse.claim.count")) for s in claims) == 2


def _server_spans(exporter: InMemorySpanExporter, count: int) -> list[ReadableSpan] | None:
    """The finished server spans, once there are at least ``count``."""
    servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    return servers if len(servers) >= count else None


def test_server_spans_are_named_by_route_template_and_continue_no_trace_by_default(
    store_url: str, exporter: InMemorySpanExporter
) -> None:
    app = _app(store_url)
    try:
        token = create_key(app.backend, tenant="acme", name="t", now=app.clock()).token
        with running_api(app) as url:
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{url}/v1/jobs/123", headers=headers).status_code == 404
            assert httpx.get(f"{url}/no/such/page").status_code == 404
            assert httpx.get(f"{url}/healthz").status_code == 200
            # A request's span ends just after its response is sent: the client may be first.
            servers = wait_for(lambda: _server_spans(exporter, 3), "the three server spans to end")
    finally:
        app.close()
    assert [s.name for s in servers] == ["GET /v1/jobs/{job_id}", "GET", "GET /healthz"]
    assert all(s.parent is None for s in servers), "no traceparent sent: each starts a trace"
    assert [(s.attributes or {}).get("http.route") for s in servers] == [
        "/v1/jobs/{job_id}",
        None,
        "/healthz",
    ]
    assert all(s.status.status_code is StatusCode.UNSET for s in servers)


def test_a_workflow_posted_over_http_is_one_trace_under_the_request(
    store_url: str, exporter: InMemorySpanExporter
) -> None:
    trace_id, caller_span = secrets.randbits(128) | 1, secrets.randbits(64) | 1
    app = _app(store_url)
    steps = [
        {"key": "a", "task": "flaky", "args": ["ann"]},
        {"key": "b", "task": "flaky", "args": ["bob"], "after": ["a"]},
    ]
    try:
        token = create_key(app.backend, tenant="acme", name="t", now=app.clock()).token
        with running_api(app) as url, WorkerThread(app):
            headers = {
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{trace_id:032x}-{caller_span:016x}-01",
            }
            response = httpx.post(
                f"{url}/v1/workflows", json={"name": "mail", "steps": steps}, headers=headers
            )
            assert response.status_code == 201, response.text
            workflow_id = response.json()["id"]
            wait_for(
                lambda: (
                    len([s for s in exporter.get_finished_spans() if s.name == "execute flaky"])
                    == 4
                ),
                "both steps' two attempts",
            )
    finally:
        app.close()

    finished = exporter.get_finished_spans()
    server = _one([s for s in finished if s.kind is SpanKind.SERVER], "server span")
    submit = _one([s for s in finished if s.kind is SpanKind.PRODUCER], "submit span")
    assert submit.name == "workhorse.workflow.submit"
    assert submit.context.trace_id == trace_id
    assert submit.parent is not None and submit.parent.span_id == server.context.span_id
    assert submit.attributes is not None
    assert submit.attributes["workhorse.workflow.id"] == workflow_id
    assert submit.attributes["workhorse.workflow.tenant"] == "acme"
    assert submit.attributes["workhorse.workflow.steps"] == 2
    runs = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert len({_attribute(s, "workhorse.job.id") for s in runs}) == 2
    assert all(s.parent is not None and s.parent.span_id == submit.context.span_id for s in runs)
