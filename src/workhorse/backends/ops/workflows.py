"""Workflows: a graph of jobs inserted in one transaction, read with its steps, cancelled, its
failed steps retried, and deleted past retention once ended."""

from __future__ import annotations

from dataclasses import replace

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.ops import events, graph
from workhorse.backends.store import Store, Tx
from workhorse.errors import InvalidTransitionError
from workhorse.workflows import Workflow


def workflow_insert(store: Store, params: b.WorkflowInsertParams) -> b.InsertedWorkflow:
    now = store.values.time(params.now)
    query = {"tenant": params.tenant, "name": params.name, "steps": len(params.jobs), "now": now}
    with store.transaction() as tx:
        row = tx.all("workflow_insert", query)[0]
        steps = [replace(job, workflow_id=row["id"]) for job in params.jobs]
        inserted = store.insert_in(tx, steps, params.now)
    return b.InsertedWorkflow(id=row["id"], jobs=inserted)


def workflow_get(store: Store, params: b.WorkflowGetParams) -> b.WorkflowGraph | None:
    with store.snapshot() as tx:
        workflow = _workflow(tx, params.id, params.tenant)
        if workflow is None:
            return None
        steps = [rows.job(row, tx.values) for row in tx.all("workflow_steps", {"id": params.id})]
        edges = [(e["parent"], e["child"]) for e in tx.all("workflow_edges", {"id": params.id})]
    return b.WorkflowGraph(workflow=workflow, steps=steps, edges=edges)


def _workflow(tx: Tx, workflow_id: int, tenant: str | None) -> Workflow | None:
    row = tx.one("workflow_get", {"id": workflow_id, "tenant": tenant})
    return None if row is None else rows.workflow(row, tx.values)


def workflow_list(store: Store, params: b.WorkflowListParams) -> list[Workflow]:
    states = [str(state) for state in params.states]
    query = {
        "tenant": params.tenant,
        "states": store.values.array(states) if states else None,
        "name": params.name,
        "before_id": params.before_id,
        "limit": params.limit,
    }
    return [rows.workflow(row, store.values) for row in store.read("workflow_list", query)]


def workflow_cancel(store: Store, params: b.WorkflowCancelParams) -> Workflow | None:
    """Cancel every step that has not ended (running ones are interrupted at their worker's next
    heartbeat), each with its event; the workflow settles with its last step."""
    query = {"id": params.id, "now": store.values.time(params.now)}
    with store.transaction() as tx:
        if _workflow(tx, params.id, params.tenant) is None:
            return None
        cancelled = tx.all("workflow_cancel_steps", query)
        events.record(tx, [row["id"] for row in cancelled], query["now"])
        graph.after_end(tx, [graph.ended(row, tx.values) for row in cancelled], params.now)
        return _workflow(tx, params.id, params.tenant)


def workflow_retry(store: Store, params: b.WorkflowRetryParams) -> Workflow | None:
    """Requeue every dead step; the steps their failure cancelled re-open (blocked until the
    retried step succeeds) and the workflow runs again. InvalidTransitionError when no step is
    dead (nothing is changed)."""
    query = {"id": params.id, "now": store.values.time(params.now)}
    try:
        with store.transaction() as tx:
            if _workflow(tx, params.id, params.tenant) is None:
                return None
            retried = tx.all("workflow_retry_steps", query)
            if not retried:
                raise InvalidTransitionError(f"workflow {params.id} has no dead step to retry")
            store.notify(tx, {row["queue"] for row in retried})
            graph.reopen(tx, [graph.ended(row, tx.values) for row in retried], params.now)
            return _workflow(tx, params.id, params.tenant)
    except store.unique_violation:
        raise InvalidTransitionError(
            f"workflow {params.id} cannot be retried: a live job has the unique key of a dead step"
        ) from None


def workflow_prune(store: Store, params: b.WorkflowPruneParams) -> int:
    query = {"finished_before": store.values.time(params.finished_before), "limit": params.limit}
    with store.transaction() as tx:
        return tx.count("workflow_prune", query)
