"""``workhorse workflows list|show|cancel``."""

from __future__ import annotations

import click
from rich.table import Table

from workhorse.backends import base as b
from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.cli.render import console, print_json, when
from workhorse.workflows import Workflow, WorkflowState


@click.group()
def workflows() -> None:
    """List, show and cancel workflows."""


@workflows.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in WorkflowState]),
    help="Only these states (repeatable).",
)
@click.option("--name")
@click.option("--tenant")
@click.option("--before-id", type=int, help="Page: only workflows with a smaller id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def workflows_list(
    states: tuple[str, ...],
    name: str | None,
    tenant: str | None,
    before_id: int | None,
    limit: int,
    as_json: bool,
    database_url: str,
) -> None:
    """Workflows, newest first."""
    found = load_app(None, database_url).list_workflows(
        tenant=tenant,
        states=[WorkflowState(s) for s in states],
        name=name,
        before_id=before_id,
        limit=limit,
    )
    if as_json:
        print_json(found)
    else:
        console.print(_table(found))


@workflows.command("show")
@click.argument("workflow_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def workflows_show(workflow_id: int, as_json: bool, database_url: str) -> None:
    """One workflow with its steps' states and parents."""
    graph = load_app(None, database_url).get_workflow(workflow_id)
    if as_json:
        print_json(graph)
    else:
        console.print(_table([graph.workflow]))
        console.print(_steps(graph))


@workflows.command("cancel")
@click.argument("workflow_id", type=int)
@database_url_option
@friendly_errors
def workflows_cancel(workflow_id: int, database_url: str) -> None:
    """Cancel every step that has not ended (running ones stop at their next heartbeat)."""
    workflow = load_app(None, database_url).cancel_workflow(workflow_id)
    click.echo(f"workflow {workflow.id} {workflow.state}")


@workflows.command("retry")
@click.argument("workflow_id", type=int)
@database_url_option
@friendly_errors
def workflows_retry(workflow_id: int, database_url: str) -> None:
    """Retry the failed steps: dead steps are requeued, the steps they cancelled re-open."""
    workflow = load_app(None, database_url).retry_workflow(workflow_id)
    click.echo(f"workflow {workflow.id} {workflow.state}")


def _table(found: list[Workflow]) -> Table:
    table = Table("id", "tenant", "name", "state", "steps", "left", "created", "finished")
    for workflow in found:
        table.add_row(
            str(workflow.id),
            workflow.tenant,
            workflow.name,
            str(workflow.state),
            str(workflow.steps),
            str(workflow.steps_left),
            when(workflow.created_at),
            when(workflow.finished_at),
        )
    return table


def _steps(graph: b.WorkflowGraph) -> Table:
    parents: dict[int, list[int]] = {}
    for parent, child in graph.edges:
        parents.setdefault(child, []).append(parent)
    table = Table("job", "key", "task", "state", "after")
    for step in graph.steps:
        after = ", ".join(map(str, parents.get(step.id, [])))
        table.add_row(str(step.id), step.step_key or "", step.task, str(step.state), after)
    return table
