"""The workflow builder over each backend: one transaction, one trace for every step."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from workhorse import Workhorse
from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.tasks import Task

from .support import at


def test_every_step_of_a_workflow_continues_its_submit_trace(
    app: Workhorse, work: Task[[int], int], exporter: InMemorySpanExporter
) -> None:
    with app.workflow(name="traced") as wf:
        first = wf.add(work.prepare(1))
        wf.add(work.prepare(2), after=[first])
    [submit] = exporter.get_finished_spans()
    trace_id = f"{submit.context.trace_id:032x}"
    claim = b.JobClaimParams(
        worker_id="w",
        queues=["default"],
        limit=10,
        lease_token="t",
        lease_for=timedelta(seconds=30),
        now=at(1),
    )
    [claimed] = app.backend.job_claim(claim)
    assert claimed.trace_context is not None
    assert json.loads(claimed.trace_context)["traceparent"].split("-")[1] == trace_id


def test_a_workflow_refuses_bad_steps_before_storing_anything(
    app: Workhorse, work: Task[[int], int]
) -> None:
    wf = app.workflow(name="bad")
    first = wf.add(work.prepare(1), key="a")
    with pytest.raises(ConfigurationError, match="key 'a'"):
        wf.add(work.prepare(2), key="a")
    with pytest.raises(ConfigurationError, match="unique_key"):
        wf.add(work.with_options(unique_key="u").prepare(2))
    with pytest.raises(ConfigurationError, match="tenant"):
        wf.add(work.with_options(tenant="other").prepare(2), after=[first])
    with pytest.raises(ConfigurationError, match="at least one step"):
        app.workflow(name="empty").submit()
    assert app.list_workflows() == []
