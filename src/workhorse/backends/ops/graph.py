"""Dependencies: new jobs linked to their parents, dependents released or cancelled when jobs end,
re-opened when a failed parent is retried, and waiters told. Each function runs in the caller's
transaction, so the graph changes with the job that changes it.

PostgreSQL's finish does ``after_end``'s work inside its one statement (the same SQL fragments);
every other path that ends or revives a job calls these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.backends.ops import events
from workhorse.backends.store import Row, Store, Tx
from workhorse.errors import DependencyError
from workhorse.jobs import TERMINAL_STATES, JobState

_FAILED = frozenset({JobState.DEAD, JobState.CANCELLED})


@dataclass(frozen=True, slots=True)
class _Parent:
    """A parent as a new child sees it: its tenant, its state and, when the graph cancelled it,
    the failed job at the root of that cancellation."""

    tenant: str
    state: JobState
    root: int | None = None


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a new child starts: its state, its count of parents holding it back, and the root
    of its cancellation when it starts cancelled."""

    state: JobState
    pending: int
    cancelled_by: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended:
    """A job that just ended, with what its end affects."""

    id: int
    state: JobState
    has_children: bool
    workflow_id: int | None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# -- linking new jobs ------------------------------------------------------------------------------


def link(
    store: Store, tx: Tx, jobs: Sequence[b.NewJob], inserted: Sequence[b.InsertedJob], now: datetime
) -> None:
    """Give the jobs just inserted in ``tx`` their place in the graph: edges to their parents,
    their state (blocked, queued, or cancelled when a parent has already failed), their workflow.
    A parent that does not exist or is another tenant's is a DependencyError (roll back); the
    two read alike, so the error tells a tenant nothing about other tenants' jobs."""
    new = [(job, row.id) for job, row in zip(jobs, inserted, strict=True) if row.created]
    new = [(job, job_id) for job, job_id in new if job.linked]
    if not new:
        return
    born = {row.id for row in inserted if row.created}
    parents_of = {job_id: _parent_ids(job, inserted, born) for job, job_id in new}
    tenant_of = {job_id: job.tenant for job, job_id in new}
    named = {(p, tenant_of[child]) for child, ids in parents_of.items() for p in ids}
    parents = _mark_parents(tx, named)
    edges = [[parent, child] for child, ids in parents_of.items() for parent in ids]
    if edges:
        tx.count("job_edges_insert", {"edges": _json(edges)})
    links = [_link_one(job, job_id, parents_of[job_id], parents) for job, job_id in new]
    tx.count("job_link", {"jobs": _json(links), "now": tx.values.time(now)})
    queued = [job for (job, _), row in zip(new, links, strict=True) if _queued(row)]
    store.notify(tx, {job.queue for job in queued})
    born_ended = [_ended_link(link) for link in links if link["finished"]]
    if born_ended:
        events.record(tx, [job.id for job in born_ended], tx.values.time(now))
        after_end(tx, born_ended, now)


def _queued(pair_link: dict[str, Any]) -> bool:
    return bool(pair_link["state"] == JobState.QUEUED)


def _ended_link(link_row: dict[str, Any]) -> Ended:
    return Ended(
        id=link_row["id"],
        state=JobState(link_row["state"]),
        has_children=False,
        workflow_id=link_row["workflow_id"],
    )


def _parent_ids(job: b.NewJob, inserted: Sequence[b.InsertedJob], born: set[int]) -> list[int]:
    """The job's parents by id, those named by position in the batch resolved. A parent named by
    id must exist before the batch: one ``born`` in it (an id guessed ahead) is not found, so no
    cycle can form."""
    early = [parent for parent in job.after if parent in born]
    if early:
        raise _not_found(early, job.tenant)
    ids = list(job.after) + [inserted[position].id for position in job.after_steps]
    return list(dict.fromkeys(ids))


def _not_found(ids: list[int], tenant: str) -> DependencyError:
    return DependencyError(
        f"parent job(s) {ids} not found: a job of tenant {tenant!r} can only run after earlier "
        "jobs of its own tenant"
    )


def _mark_parents(tx: Tx, named: set[tuple[int, str]]) -> dict[int, _Parent]:
    """Flag the parents as having children (locking them) and read their tenant and state; a
    parent that does not exist, or is not the naming child's tenant's, is missing from the result
    and never touched (not even locked: a wait on it would tell of another tenant's job)."""
    by_tenant: dict[str, list[int]] = {}
    for job_id, tenant in sorted(named):
        by_tenant.setdefault(tenant, []).append(job_id)
    found: dict[int, _Parent] = {}
    for tenant, ids in by_tenant.items():  # one statement per tenant: nearly always one
        query = {"ids": tx.values.array(ids), "tenant": tenant}
        found |= {row["id"]: _parent(row) for row in tx.all("job_mark_parents", query)}
    return found


def _parent(row: Row) -> _Parent:
    return _Parent(tenant=row["tenant"], state=JobState(row["state"]), root=row["cancelled_by"])


def _link_one(
    job: b.NewJob, job_id: int, parent_ids: list[int], parents: dict[int, _Parent]
) -> dict[str, Any]:
    """One element of job_link's array; records the job as a parent later jobs of the batch see."""
    unknown = [p for p in parent_ids if p not in parents or parents[p].tenant != job.tenant]
    if unknown:
        raise _not_found(unknown, job.tenant)
    mine = [parents[p] for p in parent_ids]
    place = _place(job, dict(zip(parent_ids, mine, strict=True)))
    parents[job_id] = _Parent(tenant=job.tenant, state=place.state, root=place.cancelled_by)
    return {
        "id": job_id,
        "state": place.state.value,
        "pending": place.pending,
        "cancelled_by": place.cancelled_by,
        "run_on_parent_failure": job.run_on_parent_failure,
        "workflow_id": job.workflow_id,
        "step_key": job.step_key,
        "finished": place.state is JobState.CANCELLED,
    }


def _place(job: b.NewJob, parents: Mapping[int, _Parent]) -> _Place:
    """Where a new job starts, given its parents as they stand."""
    failed = [(pid, p) for pid, p in parents.items() if p.state in _FAILED]
    if failed and not job.run_on_parent_failure:
        parent_id, parent = failed[0]
        return _Place(JobState.CANCELLED, 0, parent.root or parent_id)
    holding = [p for p in parents.values() if p.state not in TERMINAL_STATES]
    if holding:
        return _Place(JobState.BLOCKED, len(holding), None)
    return _Place(JobState.QUEUED if job.state is JobState.BLOCKED else job.state, 0, None)


# -- jobs that ended -------------------------------------------------------------------------------


def ended(row: Row, v: Any) -> Ended:
    """An Ended from a row with id, state, has_children and workflow_id."""
    return Ended(
        id=row["id"],
        state=JobState(row["state"]),
        has_children=v.flag(row["has_children"]),
        workflow_id=row["workflow_id"],
    )


def after_end(tx: Tx, jobs: Sequence[Ended], now: datetime) -> None:
    """What the end of ``jobs`` changes, in their transaction: their dependents are released (the
    last parent succeeded) or cancelled down the graph (a parent failed, each cancelled one's
    event written), their workflows' counts move (settling a workflow whose last step ended, its
    event written), and waiters are told. The caller writes the events of ``jobs`` themselves,
    before this (so a workflow's event follows its steps')."""
    if not jobs:
        return
    time = tx.values.time(now)
    cancelled = _release_dependents(tx, jobs, time)
    steps = [{"workflow_id": j.workflow_id, "state": j.state.value} for j in jobs]
    steps += [{"workflow_id": r["workflow_id"], "state": r["state"]} for r in cancelled]
    steps = [step for step in steps if step["workflow_id"] is not None]
    if steps:
        settled = tx.all("workflow_settle_steps", {"steps": _json(steps), "now": time})
        events.record_workflows(tx, [row["id"] for row in settled], time)
    notify_ended(tx, [j.id for j in jobs] + [row["id"] for row in cancelled])


def _release_dependents(tx: Tx, jobs: Sequence[Ended], time: Any) -> list[Row]:
    """Release or cancel the dependents of ``jobs``; returns those cancelled (their events
    written)."""
    with_children = [{"id": j.id, "state": j.state.value} for j in jobs if j.has_children]
    if not with_children:
        return []
    changed = tx.all("job_release_dependents", {"ended": _json(with_children), "now": time})
    cancelled = [row for row in changed if row["state"] == JobState.CANCELLED]
    events.record(tx, [row["id"] for row in cancelled], time)
    return cancelled


def notify_ended(tx: Tx, ids: Iterable[int]) -> None:
    """Tell the processes waiting for jobs that ``ids`` ended, once ``tx`` commits."""
    ids = sorted(ids)
    if ids:
        tx.all("job_notify_ended", {"ids": tx.values.array(ids)})


# -- a failed parent retried -----------------------------------------------------------------------


def reopen(tx: Tx, retried: Sequence[Ended], now: datetime) -> None:
    """Re-open the jobs cancelled because of the ``retried`` jobs (dead jobs just requeued by
    hand), level by level down the graph, and re-run their workflows. Nothing to wake: re-opened
    jobs are blocked until the retried parent succeeds."""
    roots = [job.id for job in retried if job.has_children]
    reopened: list[Row] = []
    time = tx.values.time(now)
    query = {"roots": tx.values.array(roots), "now": time}
    # Every job the roots' failure cancelled names a root; a round re-opens those whose parents
    # are no longer failed, so each round reaches one level further down the graph.
    while roots and (rows := tx.all("job_reopen_dependents", query)):
        reopened += rows
    _rerun_workflows(tx, retried, reopened, time)


def _rerun_workflows(tx: Tx, retried: Sequence[Ended], reopened: list[Row], time: Any) -> None:
    """The workflows of the retried and re-opened steps run again."""
    steps = [{"workflow_id": j.workflow_id, "dead": 1, "cancelled": 0} for j in retried]
    steps += [{"workflow_id": r["workflow_id"], "dead": 0, "cancelled": 1} for r in reopened]
    steps = [step for step in steps if step["workflow_id"] is not None]
    if steps:
        tx.count("workflow_reopen", {"steps": _json(steps), "now": time})


# -- reads -----------------------------------------------------------------------------------------


def job_ended(store: Store, params: b.JobEndedParams) -> list[int]:
    if not params.ids:
        return []
    query = {"ids": store.values.array(sorted(params.ids))}
    return sorted(row["id"] for row in store.read("job_ended", query))


def job_parent_results(store: Store, params: b.JobParentResultsParams) -> list[b.ParentResult]:
    rows = store.read("job_parent_results", {"id": params.id})
    return [
        b.ParentResult(
            id=row["id"], step_key=row["step_key"], result=store.values.json(row["result"])
        )
        for row in rows
    ]


def job_has_ancestor(store: Store, params: b.JobHasAncestorParams) -> bool:
    row = store.read("job_has_ancestor", {"id": params.id, "ancestor": params.ancestor})
    return bool(row and row[0]["found"])
