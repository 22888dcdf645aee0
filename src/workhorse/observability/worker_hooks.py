"""The worker's lifecycle hooks: metrics, spans and log fields around claims, attempts and
completions.

The worker calls these at a few points (a claim returned, an attempt starts and ends, a job was
lost, a completion was written); each hook is guarded, so a failing one is logged and never
fails a job or a database write. The database hooks wrap the worker's ``DbCall``: they run in
the database thread around the backend call itself, so the round-trip times they record are the
operation's, not the event loop's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from workhorse.jobs import JobState
from workhorse.observability import logs, tracing
from workhorse.observability.metrics import AppMetrics, Operation, Outcome, WorkerMetrics

if TYPE_CHECKING:
    from workhorse.backends import base as b
    from workhorse.dbcall import DbCall

log = logging.getLogger("workhorse.worker")

T = TypeVar("T")

_OUTCOMES = {
    JobState.SUCCEEDED: Outcome.SUCCEEDED,
    JobState.RETRYING: Outcome.RETRIED,
    JobState.DEAD: Outcome.DEAD,
}


def _guarded(what: str, fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("observability hook %s failed (the job is not affected)", what)


class WorkerTelemetry:
    """Hooks for one worker; ``metrics`` is the worker's registry, ``app_metrics`` its app's."""

    def __init__(self, worker_id: str, metrics: WorkerMetrics, app_metrics: AppMetrics) -> None:
        self.worker_id = worker_id
        self.metrics = metrics
        self.app_metrics = app_metrics

    def attempt(self, job: b.ClaimedJob) -> Attempt:
        """Around one attempt: log fields, the execution span and the attempt's metrics."""
        return Attempt(self, job)

    def used(self, job: b.ClaimedJob, usage: b.AttemptUsage) -> None:
        """An attempt of ``job`` ended having consumed ``usage``."""
        _guarded("used", self.metrics.tenant_usage.add, job.tenant, usage)

    def lost(self, job: b.ClaimedJob, outcome: Outcome) -> None:
        """A running job was cancelled or reaped under this worker (``outcome`` says which)."""
        _guarded("lost", self.metrics.finished, job, outcome, None)

    # -- database operations -----------------------------------------------------------------

    def instrument(self, db: DbCall, backend: b.Backend) -> DbCall:
        """``db``, timing and tracing claims, completions, heartbeats and polls of ``backend``."""
        hooks: dict[Any, Callable[..., Any]] = {
            backend.job_claim: self._claim,
            backend.job_finish_many: self._complete,
            backend.job_heartbeat: functools.partial(self._timed, Operation.HEARTBEAT),
            backend.job_poll: functools.partial(self._timed, Operation.POLL),
        }

        def call(fn: Callable[[Any], T], params: Any, /) -> Any:
            hook = hooks.get(fn)
            if hook is None:
                return db(fn, params)
            return db(functools.partial(hook, fn), params)

        return call

    def _timed(self, operation: Operation, fn: Callable[[Any], T], params: Any) -> T:
        started = perf_counter()
        try:
            return fn(params)
        finally:
            _guarded(
                operation.value,
                self.app_metrics.observe_round_trip,
                operation,
                perf_counter() - started,
            )

    def _claim(
        self, fn: Callable[[b.JobClaimParams], list[b.ClaimedJob]], params: b.JobClaimParams
    ) -> list[b.ClaimedJob]:
        attributes = {"workhorse.worker.id": self.worker_id, "workhorse.claim.limit": params.limit}
        with tracing.client_span("claim", attributes) as span:
            claimed = self._timed(Operation.CLAIM, fn, params)
            if span is not None:
                span.set_attribute("workhorse.claim.count", len(claimed))
        _guarded("claimed", self.metrics.claimed, claimed, params.now)
        return claimed

    def _complete(
        self, fn: Callable[[b.JobFinishManyParams], list[int]], params: b.JobFinishManyParams
    ) -> list[int]:
        attributes = {
            "workhorse.worker.id": self.worker_id,
            "workhorse.complete.count": len(params.outcomes),
        }
        with tracing.client_span("complete", attributes) as span:
            written = self._timed(Operation.COMPLETE, fn, params)
            if span is not None:
                span.set_attribute("workhorse.complete.written", len(written))
        _guarded("completed", self.metrics.completed, len(params.outcomes), len(written))
        return written


class Attempt:
    """One attempt's hooks: entering binds the job's log fields and starts its execution span
    (a child of the trace context stored at enqueue); ``ended`` records the outcome; leaving
    ends the span. An attempt left without ``ended`` (cancelled, handed back) counts nothing."""

    __slots__ = (
        "_context_token",
        "_ended",
        "_job",
        "_log_token",
        "_span",
        "_started",
        "_telemetry",
    )

    def __init__(self, telemetry: WorkerTelemetry, job: b.ClaimedJob) -> None:
        self._telemetry = telemetry
        self._job = job
        self._span: trace.Span | None = None
        self._context_token: object = None
        self._ended = False
        self._started = 0.0

    def __enter__(self) -> Attempt:
        self._log_token = logs.bind_job(self._job)
        if tracing.enabled():
            _guarded("span start", self._start_span)
        self._started = perf_counter()
        return self

    def _start_span(self) -> None:
        job = self._job
        self._span = tracing.tracer().start_span(
            f"execute {job.task}",
            context=tracing.extract(job.trace_context),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "workhorse",
                "messaging.operation.type": "process",
                "messaging.destination.name": job.queue,
                "messaging.message.id": str(job.id),
                "workhorse.job.id": job.id,
                "workhorse.job.tenant": job.tenant,
                "workhorse.job.task": job.task,
                "workhorse.job.attempt": job.attempt,
                "workhorse.job.max_attempts": job.max_attempts,
                "workhorse.worker.id": self._telemetry.worker_id,
            },
        )
        self._context_token = otel_context.attach(trace.set_span_in_context(self._span))

    def ended(self, state: JobState, error: BaseException | None = None) -> None:
        """The attempt ran to an end: ``state`` is the outcome's (succeeded, retrying, dead)."""
        self._ended = True
        seconds = perf_counter() - self._started
        outcome = _OUTCOMES[state]
        try:
            self._telemetry.metrics.finished(self._job, outcome, seconds)
        except Exception:
            log.exception("observability hook finished failed (the job is not affected)")
        if self._span is not None:
            _guarded("span end", _mark, self._span, outcome, error)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._span is not None:
            if not self._ended:
                self._span.set_attribute("workhorse.job.outcome", "interrupted")
            if self._context_token is not None:
                otel_context.detach(self._context_token)  # type: ignore[arg-type]
            self._span.end()
        logs.unbind_job(self._log_token)


def _mark(span: trace.Span, outcome: Outcome, error: BaseException | None) -> None:
    span.set_attribute("workhorse.job.outcome", outcome.value)
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:500]))
