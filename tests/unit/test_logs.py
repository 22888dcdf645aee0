"""Structured logs: JSON or text lines carrying the job's fields, the worker and the trace."""

from __future__ import annotations

import contextvars
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from workhorse.observability import logs

P = ParamSpec("P")
T = TypeVar("T")

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@dataclass(frozen=True)
class Job:
    """What a claimed job tells the log lines of its attempt."""

    id: int
    tenant: str
    task: str
    attempt: int
    trace_context: str | None = None


JOB = Job(id=42, tenant="acme", task="send", attempt=2)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _record(message: str = "job %d done", *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError as error:
            exc_info = (type(error), error, error.__traceback__)
    return logging.LogRecord(
        "workhorse.worker", logging.INFO, __file__, 1, message, args or (42,), exc_info
    )


def _in_context(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run with context variables of its own, so nothing leaks into other tests."""
    return contextvars.copy_context().run(fn, *args, **kwargs)


def _json_line(record: logging.LogRecord) -> dict[str, object]:
    line: dict[str, object] = json.loads(logs.JsonFormatter().format(record))
    return line


def test_a_json_line_outside_any_job_has_the_basics_only() -> None:
    line = _in_context(_json_line, _record())
    assert isinstance(line, dict)
    assert set(line) == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == (
        "info",
        "workhorse.worker",
        "job 42 done",
    )
    assert str(line["time"]).endswith("+00:00")


def test_a_json_line_in_a_job_carries_its_fields_the_worker_and_stored_trace_id() -> None:
    def logged() -> dict[str, object]:
        logs.bind_worker("host-1-abc")
        fields = Job(42, "acme", "send", 2, trace_context=f'{{"traceparent":"{TRACEPARENT}"}}')
        token = logs.bind_job(fields)
        try:
            return _json_line(_record())
        finally:
            logs.unbind_job(token)

    line = _in_context(logged)
    assert isinstance(line, dict)
    assert line["job_id"] == 42
    assert (line["tenant"], line["task"], line["attempt"]) == ("acme", "send", 2)
    assert line["worker_id"] == "host-1-abc"
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert "span_id" not in line


def test_the_current_span_gives_the_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")

    def logged() -> tuple[dict[str, object], trace.SpanContext]:
        token = logs.bind_job(JOB)
        with tracer.start_as_current_span("work") as span:
            line = _json_line(_record())
        logs.unbind_job(token)
        return line, span.get_span_context()

    result = _in_context(logged)
    assert isinstance(result, tuple)
    line, context = result
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_fields_are_gone_once_the_job_is_unbound() -> None:
    def logged() -> dict[str, object]:
        logs.unbind_job(logs.bind_job(JOB))
        return _json_line(_record())

    line = _in_context(logged)
    assert isinstance(line, dict)
    assert "job_id" not in line


def test_exceptions_are_one_field_of_the_one_line() -> None:
    text = logs.JsonFormatter().format(_record(exc=True))
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_text_lines_show_the_fields_after_the_message() -> None:
    def logged() -> str:
        token = logs.bind_job(JOB)
        try:
            return logs.TextFormatter().format(_record())
        finally:
            logs.unbind_job(token)

    text = _in_context(logged)
    assert isinstance(text, str)
    assert " INFO workhorse.worker job 42 done  [job_id=42 tenant=acme task=send attempt=2]" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert logs.resolve_format("auto", _Terminal()) == "text"
    assert logs.resolve_format("auto", io.StringIO()) == "json"
    assert logs.resolve_format("json", _Terminal()) == "json"
    with pytest.raises(ValueError, match="log format"):
        logs.resolve_format("xml", io.StringIO())


@pytest.mark.usefixtures("root_logging")
def test_setup_logging_writes_json_lines_at_the_level_asked() -> None:
    out = io.StringIO()
    assert logs.setup_logging("warning", "auto", stream=out) == "json"
    logging.getLogger("workhorse.test").info("hidden")
    logging.getLogger("workhorse.test").warning("shown %s", "here")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [("warning", "shown here")]


@pytest.mark.usefixtures("root_logging")
def test_setup_logging_refuses_unknown_levels() -> None:
    with pytest.raises(ValueError, match="log level"):
        logs.setup_logging("verbose", "json", stream=io.StringIO())


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize(("level", "fmt"), [("debug", "json"), ("error", "text")])
def test_current_is_what_setup_logging_set_for_a_child_to_inherit(level: str, fmt: str) -> None:
    logs.setup_logging(level, fmt, stream=io.StringIO())
    assert logs.current() == (level, fmt)


@pytest.mark.usefixtures("root_logging")
def test_current_of_logging_set_up_elsewhere_is_its_level_and_auto() -> None:
    root = logging.getLogger()
    root.handlers[:] = [logging.StreamHandler(io.StringIO())]
    root.setLevel(logging.CRITICAL)  # no level of ours: the child's default
    assert logs.current() == ("warning", "auto")
    root.setLevel(logging.INFO)
    assert logs.current() == ("info", "auto")
