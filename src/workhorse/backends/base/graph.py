"""The storage contract's dependency and workflow operations: waiting for jobs to end, parents'
results, and workflows (a graph of jobs submitted in one transaction)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from workhorse.backends.base.jobs import InsertedJob, NewJob
from workhorse.jobs import Job
from workhorse.types import JSON
from workhorse.workflows import Workflow, WorkflowState


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEndedParams:
    ids: Collection[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobParentResultsParams:
    id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentResult:
    """A parent of a job: its id, its step key (if any) and its result (None unless it
    succeeded)."""

    id: int
    step_key: str | None
    result: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHasAncestorParams:
    id: int
    ancestor: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowInsertParams:
    """A workflow and its steps, inserted in one transaction. Steps name their parents by
    position (``NewJob.after_steps``); every step has the workflow's tenant."""

    tenant: str
    name: str
    jobs: Sequence[NewJob]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InsertedWorkflow:
    id: int
    jobs: list[InsertedJob]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowGetParams:
    id: int
    tenant: str | None = None
    """When set, another tenant's workflow is not found."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowListParams:
    tenant: str | None = None
    states: Sequence[WorkflowState] = ()
    name: str | None = None
    before_id: int | None = None
    """Cursor: only workflows with a smaller id (the list is newest first)."""
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowCancelParams:
    id: int
    now: datetime
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowRetryParams:
    id: int
    now: datetime
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPruneParams:
    """Delete ended workflows that finished before ``finished_before``, at most ``limit``."""

    finished_before: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowGraph:
    """A workflow with its steps (in id order) and the edges between them (parent, child)."""

    workflow: Workflow
    steps: list[Job] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
