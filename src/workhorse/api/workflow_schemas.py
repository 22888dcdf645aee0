"""Request and response bodies of ``/v1/workflows``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from workhorse.api.schemas import JobFields, _Request
from workhorse.api.types import Name
from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.workflows import Workflow, WorkflowState

MAX_STEPS = 1000


class StepCreate(JobFields):
    """One step: a job as ``POST /v1/jobs`` takes it (its tenant is the workflow's), with a key
    that names it in the workflow and the keys of the steps it runs after."""

    tenant: None = Field(None, description="A step's tenant is its workflow's.")
    unique_key: None = Field(None, description="Workflow steps cannot have one.")
    key: Name
    after: list[Name] = Field(
        default_factory=list,
        max_length=MAX_STEPS,
        description="Keys of earlier steps that must succeed first.",
    )
    on_parent_failure: Literal["cancel", "run"] = Field(
        "cancel", description="A failed parent cancels this step, or it runs anyway."
    )


class WorkflowCreate(_Request):
    """A workflow: its steps, each after steps listed before it; stored in one transaction."""

    name: Name
    tenant: Name | None = Field(None, description="Admin keys only; a tenant key's is implied.")
    steps: list[StepCreate] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _after_earlier_steps(self) -> WorkflowCreate:
        seen: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.key in seen:
                raise ValueError(f"steps[{index}]: the key {step.key!r} is taken")
            unknown = [key for key in step.after if key not in seen]
            if unknown:
                raise ValueError(f"steps[{index}]: after names no earlier step: {unknown}")
            seen.add(step.key)
        return self


class StepOut(BaseModel):
    key: str | None
    job_id: int
    task: str
    state: JobState
    after: list[int] = Field(description="The job ids of the step's parents.")
    started_at: datetime | None
    finished_at: datetime | None


class WorkflowOut(BaseModel):
    id: int
    tenant: str
    name: str
    state: WorkflowState
    steps_total: int
    steps_left: int
    steps_dead: int
    steps_cancelled: int
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, workflow: Workflow) -> WorkflowOut:
        return cls(
            id=workflow.id,
            tenant=workflow.tenant,
            name=workflow.name,
            state=workflow.state,
            steps_total=workflow.steps,
            steps_left=workflow.steps_left,
            steps_dead=workflow.steps_dead,
            steps_cancelled=workflow.steps_cancelled,
            created_at=workflow.created_at,
            finished_at=workflow.finished_at,
        )


class WorkflowDetail(WorkflowOut):
    steps: list[StepOut]

    @classmethod
    def of_graph(cls, graph: b.WorkflowGraph) -> WorkflowDetail:
        parents: dict[int, list[int]] = {}
        for parent, child in graph.edges:
            parents.setdefault(child, []).append(parent)
        steps = [
            StepOut(
                key=step.step_key,
                job_id=step.id,
                task=step.task,
                state=step.state,
                after=parents.get(step.id, []),
                started_at=step.started_at,
                finished_at=step.finished_at,
            )
            for step in graph.steps
        ]
        return cls(**WorkflowOut.of(graph.workflow).model_dump(), steps=steps)


class WorkflowPage(BaseModel):
    workflows: list[WorkflowOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
