"""A worker killed with SIGKILL mid-workflow loses nothing: the workflow still completes, every
step succeeded, on both databases."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from pgtest import postgres_schema
from workhorse import JobState, Workhorse
from workhorse.workflows import WorkflowState

from ._harness import Workspace, wait_until
from .fixtures import tasksmod

FAN_OUT = 40


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, workspace: Workspace) -> Iterator[str]:
    """The workspace's database: its SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield workspace.db_url
        return
    with postgres_schema() as url:
        workspace.db_url = url
        yield url


@pytest.mark.slow
def test_sigkill_mid_workflow_still_completes_it(
    workspace: Workspace, app: Workhorse, database: str
) -> None:
    app.close()
    app.database_url = database
    app.migrate()
    with app.workflow(name="crash") as wf:
        root = wf.add(tasksmod.work.prepare(0.05), key="root")
        parts = [wf.add(tasksmod.work.prepare(0.2), after=[root]) for _ in range(FAN_OUT)]
        wf.add(tasksmod.work.prepare(0.05), key="join", after=parts)
    options = ("--concurrency", "8", "--lease", "2")

    doomed = workspace.start_worker(*options, name="doomed")
    wait_until(lambda: len(workspace.executions()) >= 10, timeout=60, what="steps to run")
    doomed.signal(signal.SIGKILL)
    assert doomed.wait_exit(10) == -signal.SIGKILL
    assert len(workspace.executions()) < FAN_OUT + 2, "the workflow ended before the kill"

    survivor = workspace.start_worker(*options, name="survivor")
    results = wf.result(timeout=120)
    assert wf.id is not None
    graph = app.get_workflow(wf.id)
    join = next(step for step in graph.steps if step.step_key == "join")
    assert results == {"join": join.id}
    assert graph.workflow.state is WorkflowState.SUCCEEDED
    assert {step.state for step in graph.steps} == {JobState.SUCCEEDED}
    survivor.signal(signal.SIGTERM)
    assert survivor.wait_exit(20) == 0
