"""Jobs: enqueue's shared steps, reads, changes by hand, pruning and redrive."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.ops import events, graph
from workhorse.backends.store import Row, Store, Tx, Values
from workhorse.errors import InvalidTransitionError, QuotaExceededError
from workhorse.jobs import Job, JobState


def insert_checked(tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
    """Insert ``jobs`` one by one in ``tx``, in order, once ``check_max_queued`` allows them."""
    check_max_queued(tx, jobs)
    return [insert_one(tx, job, now) for job in jobs]


def insert_one(tx: Tx, job: b.NewJob, now: datetime) -> b.InsertedJob:
    """Insert ``job``; if a live job holds its unique key, that job (``created`` False)."""
    values = _new_job(job, now, tx.values)
    row = tx.one("job_insert", values)
    if row is not None:
        return b.InsertedJob(id=row["id"], created=True)
    existing = tx.one("job_find_live_unique", values)
    if existing is None:
        # The live job holding the key ended between our insert and select (PostgreSQL reads
        # committed rows; SQLite's write lock rules this out): insert again.
        return insert_one(tx, job, now)
    return b.InsertedJob(id=existing["id"], created=False)


def _new_job(job: b.NewJob, now: datetime, v: Values) -> dict[str, Any]:
    return {
        "tenant": job.tenant,
        "queue": job.queue,
        "task": job.task,
        "args": job.args_json,
        "kwargs": job.kwargs_json,
        "state": str(job.state),
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "timeout": job.timeout,
        "unique_key": job.unique_key,
        "concurrency_key": job.concurrency_key,
        "concurrency_limit": job.concurrency_limit,
        "run_at": v.time(job.run_at),
        "trace_context": job.trace_context,
        "isolation": job.isolation,
        "memory_limit": job.memory_limit,
        "now": v.time(now),
    }


def check_max_queued(tx: Tx, jobs: Sequence[b.NewJob]) -> None:
    """Refuse the whole batch if it would take a tenant past its ``max_queued``. Run it in the
    inserting transaction: ``tenant_lock_quota`` keeps racing enqueuers from overshooting."""
    adding = Counter(job.tenant for job in jobs)
    for row in tx.all("tenant_lock_quota", {"names": tx.values.array(sorted(adding))}):
        tenant, count = row["name"], adding[row["name"]]
        waiting = tx.one("tenant_waiting", {"tenant": tenant})
        have = waiting["count"] if waiting else 0
        if have + count > row["max_queued"]:
            raise QuotaExceededError(
                f"tenant {tenant!r} has {have} waiting job(s); max_queued is "
                f"{row['max_queued']}, so {count} more cannot be enqueued"
            )


def job_get(store: Store, params: b.JobGetParams) -> Job | None:
    found = store.read("job_get", {"id": params.id, "tenant": params.tenant})
    return rows.job(found[0], store.values) if found else None


def job_list(store: Store, params: b.JobListParams) -> list[Job]:
    states = [str(state) for state in params.states]
    query = {
        "tenant": params.tenant,
        "states": store.values.array(states) if states else None,
        "queue": params.queue,
        "task": params.task,
        "before_id": params.before_id,
        "limit": params.limit,
        **_ended_range(params.states),
    }
    return [rows.job(row, store.values) for row in store.read("job_list", query)]


def _ended_range(states: Collection[JobState]) -> dict[str, str]:
    """The days of end (``ended_on``, PostgreSQL's partition key) that jobs in ``states`` can
    have: only live states read the live jobs' partition, only end states the days' partitions.
    Otherwise a read for the newest queued jobs would walk every day's index to find none."""
    if states and not any(state.terminal for state in states):
        return {"ended_min": "infinity", "ended_max": "infinity"}
    if states and all(state.terminal for state in states):
        return {"ended_min": "-infinity", "ended_max": "9999-12-31"}
    return {"ended_min": "-infinity", "ended_max": "infinity"}


def job_count(store: Store, params: b.JobCountParams) -> list[b.QueueCount]:
    return [rows.queue_count(row) for row in store.read("job_count", {"tenant": params.tenant})]


def job_cancel(store: Store, params: b.JobCancelParams) -> b.JobChange | None:
    query = _one_job(store, params.id, params.tenant, params.now)
    with store.transaction() as tx:
        changed = tx.count("job_cancel", query) > 0
        row = tx.one("job_get", query)
        if changed and row is not None:
            events.record(tx, [params.id], query["now"])
            graph.after_end(tx, [graph.ended(row, tx.values)], params.now)
        return _change(tx, row, changed)


def job_retry(store: Store, params: b.JobRetryParams) -> b.JobChange | None:
    query = _one_job(store, params.id, params.tenant, params.now)
    try:
        with store.transaction() as tx:
            changed = tx.count("job_retry", query) > 0
            row = tx.one("job_get", query)
            if changed and row is not None:
                store.notify(tx, {row["queue"]})
                graph.reopen(tx, [graph.ended(row, tx.values)], params.now)
            return _change(tx, row, changed)
    except store.unique_violation:
        raise InvalidTransitionError(
            f"job {params.id} cannot be retried: a live job has the same unique key"
        ) from None


def job_discard(store: Store, params: b.JobDiscardParams) -> b.JobChange | None:
    query = _one_job(store, params.id, params.tenant, params.now)
    with store.transaction() as tx:
        changed = tx.count("job_discard", query) > 0
        if changed:
            events.record(tx, [params.id], query["now"])
        return _read_back(tx, query, changed)


def _one_job(store: Store, job_id: int, tenant: str | None, now: datetime) -> dict[str, Any]:
    """What a change of one job by hand names: the job (of ``tenant`` only, when set), ``now``."""
    return {"id": job_id, "tenant": tenant, "now": store.values.time(now)}


def _read_back(tx: Tx, query: dict[str, Any], changed: bool) -> b.JobChange | None:
    """The job as the change left it, read in the change's transaction; None if not found."""
    return _change(tx, tx.one("job_get", query), changed)


def _change(tx: Tx, row: Row | None, changed: bool) -> b.JobChange | None:
    """The change to the job read back as ``row``; None if there is no such job."""
    return None if row is None else b.JobChange(job=rows.job(row, tx.values), changed=changed)


def job_prune(store: Store, params: b.JobPruneParams) -> int:
    """Delete old terminal jobs and their dependency edges, in one transaction."""
    query = {"finished_before": store.values.time(params.finished_before), "limit": params.limit}
    with store.transaction() as tx:
        ids = [row["id"] for row in tx.all("job_prune", query)]
        if ids:
            tx.count("job_edges_prune", {"ids": tx.values.array(ids)})
        return len(ids)


def job_redrive(store: Store, params: b.JobRedriveParams) -> int:
    query = _redrive_filter(params, store.values)
    if params.dry_run:
        return int(store.read("job_redrive_count", query)[0]["count"])
    retry = params.action is b.RedriveAction.RETRY
    try:
        with store.transaction() as tx:
            ids = [row["id"] for row in tx.all("job_redrive", query)]
            if not ids:
                return 0
            update = {"ids": store.values.array(ids), "now": store.values.time(params.now)}
            changed = tx.all("job_redrive_retry" if retry else "job_redrive_cancel", update)
            if retry:
                store.notify(tx, {row["queue"] for row in changed})
                graph.reopen(tx, [graph.ended(row, tx.values) for row in changed], params.now)
            else:
                events.record(tx, [row["id"] for row in changed], update["now"])
    except store.unique_violation:
        raise InvalidTransitionError(
            "a job with the same unique key was enqueued during the redrive; try again"
        ) from None
    return len(changed)


def _redrive_filter(params: b.JobRedriveParams, v: Values) -> dict[str, Any]:
    return {
        "action": str(params.action),
        "tenant": params.tenant,
        "queue": params.queue,
        "task": params.task,
        "error_type": params.error_type,
        "finished_after": v.opt_time(params.finished_after),
        "finished_before": v.opt_time(params.finished_before),
        "limit": params.limit,
    }
