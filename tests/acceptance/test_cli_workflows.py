"""``workhorse workflows list|show|cancel|retry`` on a real database, as an operator runs them."""

from __future__ import annotations

import json

from workhorse import Workhorse

from ._harness import Workspace
from .fixtures import tasksmod


def _submit(app: Workhorse) -> int:
    with app.workflow(tenant="acme", name="nightly") as wf:
        first = wf.add(tasksmod.work.prepare(0), key="first")
        wf.add(tasksmod.work.prepare(0), key="second", after=[first])
    assert wf.id is not None
    return wf.id


def test_workflows_list_show_and_cancel(workspace: Workspace, app: Workhorse) -> None:
    app.migrate()
    workflow_id = _submit(app)

    listed = workspace.cli("workflows", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["name"], row["state"]) == (workflow_id, "nightly", "running")

    shown = workspace.cli("workflows", "show", str(workflow_id))
    assert shown.returncode == 0, shown.stderr
    assert "nightly" in shown.stdout
    assert "second" in shown.stdout
    assert "blocked" in shown.stdout

    cancelled = workspace.cli("workflows", "cancel", str(workflow_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"workflow {workflow_id} cancelled"
    graph = json.loads(workspace.cli("workflows", "show", str(workflow_id), "--json").stdout)
    assert {step["state"] for step in graph["steps"]} == {"cancelled"}


def test_workflows_show_of_a_missing_workflow_fails_clearly(
    workspace: Workspace, app: Workhorse
) -> None:
    app.migrate()
    missing = workspace.cli("workflows", "show", "424242")
    assert missing.returncode == 1
    assert "workflow 424242 not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_workflows_retry_of_a_missing_workflow_fails_clearly(
    workspace: Workspace, app: Workhorse
) -> None:
    app.migrate()
    missing = workspace.cli("workflows", "retry", "424242")
    assert missing.returncode == 1
    assert "workflow 424242 not found" in missing.stderr
