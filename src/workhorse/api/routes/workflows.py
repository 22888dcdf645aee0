"""``/v1/workflows``: submit a graph of jobs in one transaction, read it, list, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from workhorse.api.auth import App, Caller, Principal
from workhorse.api.enqueue import to_spec
from workhorse.api.errors import ApiError
from workhorse.api.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor
from workhorse.api.routes.jobs import QUOTA_FULL
from workhorse.api.types import Name
from workhorse.api.workflow_schemas import (
    StepCreate,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowOut,
    WorkflowPage,
)
from workhorse.app import Workhorse
from workhorse.workflow_builder import Step, WorkflowBuilder
from workhorse.workflows import WorkflowState

router = APIRouter(prefix="/workflows", tags=["workflows"])

WorkflowPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The workflow's id.")]


@router.post(
    "",
    status_code=201,
    response_model=WorkflowDetail,
    operation_id="createWorkflow",
    responses={429: QUOTA_FULL},
)
def create_workflow(body: WorkflowCreate, app: App, caller: Caller) -> WorkflowDetail:
    """Submit a workflow: every step is stored, or none. Steps run after the steps they name in
    ``after`` have succeeded."""
    tenant = caller.tenant_filter(body.tenant) or app.default_tenant
    builder = app.workflow(tenant=tenant, name=body.name)
    steps: dict[str, Step] = {}
    for index, step in enumerate(body.steps):
        steps[step.key] = _add(app, caller, builder, step=step, steps=steps, index=index)
    workflow_id = builder.submit()
    return WorkflowDetail.of_graph(app.get_workflow(workflow_id))


def _add(
    app: Workhorse,
    caller: Principal,
    builder: WorkflowBuilder,
    *,
    step: StepCreate,
    steps: dict[str, Step],
    index: int,
) -> Step:
    """Add ``step`` to the workflow being built; errors name the step's index."""
    try:
        spec = to_spec(app, caller, step.model_copy(update={"tenant": builder.tenant}))
    except ApiError as exc:
        raise ApiError(exc.status, exc.code, f"steps[{index}]: {exc.message}") from None
    after = [steps[key] for key in step.after]
    return builder.add(spec, key=step.key, after=after, on_parent_failure=step.on_parent_failure)


@router.get("/{workflow_id}", response_model=WorkflowDetail, operation_id="getWorkflow")
def get_workflow(workflow_id: WorkflowPath, app: App, caller: Caller) -> WorkflowDetail:
    """One workflow with each step's state and parents."""
    return WorkflowDetail.of_graph(app.get_workflow(workflow_id, tenant=caller.tenant))


@router.post("/{workflow_id}/cancel", response_model=WorkflowOut, operation_id="cancelWorkflow")
def cancel_workflow(workflow_id: WorkflowPath, app: App, caller: Caller) -> WorkflowOut:
    """Cancel every step that has not ended (running ones stop at their next heartbeat)."""
    return WorkflowOut.of(app.cancel_workflow(workflow_id, tenant=caller.tenant))


@router.post("/{workflow_id}/retry", response_model=WorkflowOut, operation_id="retryWorkflow")
def retry_workflow(workflow_id: WorkflowPath, app: App, caller: Caller) -> WorkflowOut:
    """Retry the failed steps: every dead step is requeued, the steps its failure cancelled
    re-open (blocked until it succeeds), and the workflow runs again."""
    return WorkflowOut.of(app.retry_workflow(workflow_id, tenant=caller.tenant))


@router.get("", response_model=WorkflowPage, operation_id="listWorkflows")
def list_workflows(
    *,
    app: App,
    caller: Caller,
    state: Annotated[list[WorkflowState] | None, Query(description="Repeatable.")] = None,
    name: Annotated[Name | None, Query()] = None,
    tenant: Annotated[Name | None, Query(description="Admin keys only.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="A page's next_cursor.")
    ] = None,
) -> WorkflowPage:
    """Workflows, newest first, a page at a time: pass ``next_cursor`` back as ``cursor``."""
    found = app.list_workflows(
        tenant=caller.tenant_filter(tenant),
        states=state or (),
        name=name,
        before_id=None if cursor is None else decode_cursor(cursor),
        limit=limit + 1,
    )
    page, more = found[:limit], len(found) > limit
    return WorkflowPage(
        workflows=[WorkflowOut.of(workflow) for workflow in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,
    )
