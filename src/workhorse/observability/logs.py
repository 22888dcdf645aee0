"""Structured logs: stdlib logging, one JSON object per line (or readable text on a terminal).

Every line carries the fields of the job it was logged for (job id, tenant, task, attempt), the
worker's id and the trace id, from context variables the worker sets around each attempt: code
that logs needs no extra arguments, and a task's own log lines get the fields too (sync tasks
run in a copy of the attempt's context).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from opentelemetry import trace

from workhorse.observability import tracing

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("auto", "json", "text")


class JobFields(Protocol):
    """What log lines written during an attempt say about it (a claimed job has all of it, so
    binding one costs no copy)."""

    @property
    def id(self) -> int: ...
    @property
    def tenant(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def trace_context(self) -> str | None:
        """The trace context stored at enqueue: its trace id tags lines logged when this process
        records no span (read only when a line is written)."""


_job: ContextVar[JobFields | None] = ContextVar("workhorse_log_job", default=None)
_worker: ContextVar[str | None] = ContextVar("workhorse_log_worker", default=None)


def bind_job(fields: JobFields) -> Token[JobFields | None]:
    """Tag the current context's log lines with a job's fields until ``unbind_job``."""
    return _job.set(fields)


def unbind_job(token: Token[JobFields | None]) -> None:
    _job.reset(token)


def bind_worker(worker_id: str) -> None:
    """Tag the current context's (and the tasks it starts') log lines with a worker id."""
    _worker.set(worker_id)


def context_fields() -> dict[str, Any]:
    """The job, worker and trace fields of the current context (empty ones left out)."""
    fields: dict[str, Any] = {}
    job = _job.get()
    if job is not None:
        fields.update(job_id=job.id, tenant=job.tenant, task=job.task, attempt=job.attempt)
    worker = _worker.get()
    if worker is not None:
        fields["worker_id"] = worker
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        fields["trace_id"] = format(span.trace_id, "032x")
        fields["span_id"] = format(span.span_id, "016x")
    elif job is not None and job.trace_context is not None:
        trace_id = tracing.trace_id_of(job.trace_context)
        if trace_id is not None:
            fields["trace_id"] = trace_id
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the context's
    job, worker and trace fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(context_fields())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message  key=value …`` with the context's fields, for people."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = context_fields()
        fields.pop("span_id", None)
        if not fields:
            return text
        head, newline, rest = text.partition("\n")
        tags = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{head}  [{tags}]{newline}{rest}"


def resolve_format(fmt: str, stream: TextIO) -> str:
    """``auto`` is text on a terminal and JSON anywhere else (files, pipes, log collectors)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def setup_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> str:
    """Send every log record at ``level`` or above to ``stream`` (stderr) in ``fmt``; replaces
    the root logger's handlers. Returns the format used (``auto`` resolved)."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    out = stream if stream is not None else sys.stderr
    resolved = resolve_format(fmt, out)
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if resolved == "json" else TextFormatter())
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler], force=True)
    return resolved


def current() -> tuple[str, str]:
    """The root logger's level and format (``auto`` unless ``setup_logging`` installed one of
    its formatters): what a child process started from here should log with."""
    root = logging.getLogger()
    level = logging.getLevelName(root.getEffectiveLevel()).lower()
    fmt = "auto"
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter | TextFormatter):
            fmt = "json" if isinstance(handler.formatter, JsonFormatter) else "text"
            break
    return (level if level in LEVELS else "warning"), fmt
