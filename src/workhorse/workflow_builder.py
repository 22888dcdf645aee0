"""The workflow builder: steps added with their parents, submitted in one transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.jobs import JobHandle, JobState
from workhorse.observability import tracing
from workhorse.tasks import JobSpec, check_name
from workhorse.types import JSON

if TYPE_CHECKING:
    from workhorse.app import Workhorse


@dataclass(frozen=True, slots=True)
class Step:
    """A step added to a workflow being built: its position, and its key if it has one."""

    index: int
    key: str | None


class WorkflowBuilder:
    """Builds a workflow, then submits every step in one transaction: ``with app.workflow(…) as
    wf: a = wf.add(task.prepare(…)); wf.add(other.prepare(), after=[a])``. Steps name their
    parents among the steps added before them, so no cycle can be built."""

    def __init__(self, app: Workhorse, *, tenant: str, name: str) -> None:
        check_name(name, "workflow name")
        self.app = app
        self.tenant = tenant
        self.name = name
        self._specs: list[tuple[JobSpec, Step, tuple[int, ...], bool]] = []
        self._keys: set[str] = set()
        self._parents: set[int] = set()
        self.id: int | None = None
        """Set once submitted."""
        self.handles: list[JobHandle] = []
        """The steps' jobs once submitted, in the order added."""

    def __enter__(self) -> WorkflowBuilder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.submit()

    def add(
        self,
        spec: JobSpec,
        *,
        key: str | None = None,
        after: Sequence[Step] = (),
        on_parent_failure: str = "cancel",
    ) -> Step:
        """Add a step running ``spec`` (``task.prepare(…)``) once every step in ``after`` has
        succeeded; ``key`` names it among the workflow's steps (in ``parent_results``, too)."""
        self._check_step(spec, key, after, on_parent_failure)
        step = Step(len(self._specs), key)
        parents = tuple(parent.index for parent in after)
        self._specs.append((spec, step, parents, on_parent_failure == "run"))
        self._parents.update(parents)
        if key is not None:
            self._keys.add(key)
        return step

    def _check_step(
        self, spec: JobSpec, key: str | None, after: Sequence[Step], on_parent_failure: str
    ) -> None:
        if self.id is not None:
            raise ConfigurationError("this workflow was already submitted")
        check_name(key, "step key")
        if key is not None and key in self._keys:
            raise ConfigurationError(f"two steps of the workflow have the key {key!r}")
        if spec.options.unique_key is not None:
            raise ConfigurationError("workflow steps cannot have a unique_key")
        if spec.options.tenant not in {None, self.tenant}:
            raise ConfigurationError("every step of a workflow has the workflow's tenant")
        if any(not 0 <= p.index < len(self._specs) for p in after):
            raise ConfigurationError("after= names steps added to this workflow before")
        if on_parent_failure not in {"cancel", "run"}:
            raise ConfigurationError('on_parent_failure must be "cancel" or "run"')

    def submit(self) -> int:
        """Insert the workflow and every step in one transaction; returns the workflow's id."""
        if self.id is not None:
            return self.id
        if not self._specs:
            raise ConfigurationError("a workflow needs at least one step")
        now = self.app.clock()
        # One span for the submit; every step's execution is its child, so a workflow is a trace.
        with tracing.workflow_span(self.name, self.tenant, len(self._specs)) as span:
            context = None if span is None else tracing.capture()
            jobs = [self._new_job(*e, now=now, trace_context=context) for e in self._specs]
            params = b.WorkflowInsertParams(tenant=self.tenant, name=self.name, jobs=jobs, now=now)
            inserted = self.app.backend.workflow_insert(params)
            if span is not None:
                span.set_attribute("workhorse.workflow.id", inserted.id)
        self.handles = [JobHandle(row.id, app=self.app) for row in inserted.jobs]
        self.id = inserted.id
        return inserted.id

    def _new_job(
        self,
        spec: JobSpec,
        step: Step,
        parents: tuple[int, ...],
        run: bool,
        *,
        now: datetime,
        trace_context: str | None,
    ) -> b.NewJob:
        spec = replace(spec, options=replace(spec.options, tenant=self.tenant))
        job = self.app.new_job(spec, now, trace_context=trace_context)
        state = JobState.BLOCKED if parents or job.after else job.state
        return replace(
            job, after_steps=parents, run_on_parent_failure=run, step_key=step.key, state=state
        )

    def result(self, timeout: float = 30.0) -> dict[str | int, JSON]:
        """The results of the steps nothing in the workflow depends on, by key (by job id for a
        step without one), once they have succeeded; ``Workhorse.result``'s errors otherwise."""
        if self.id is None:
            raise ConfigurationError("submit the workflow first")
        deadline = time.monotonic() + timeout
        results: dict[str | int, JSON] = {}
        for (_, step, _, _), handle in zip(self._specs, self.handles, strict=True):
            if step.index not in self._parents:
                left = max(0.0, deadline - time.monotonic())
                results[step.key if step.key is not None else handle.id] = handle.result(left)
        return results
