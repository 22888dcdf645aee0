"""PostgreSQL's enqueue: a batch without unique keys is one statement, which also wakes the
queues' workers; unique keys and tenants' ``max_queued`` take a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.backends.ops.jobs import check_max_queued, insert_one
from workhorse.backends.postgres.statements import PostgresTx, notify
from workhorse.backends.store import Tx
from workhorse.errors import DatabaseError
from workhorse.jobs import JobState


def insert(tx: PostgresTx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
    """``job_insert_many`` on ``tx``'s connection: jobs without a unique key in one statement
    (its own transaction on an autocommit connection); otherwise a transaction (on the caller's
    connection: the caller's)."""
    inserted = _insert_unchecked(tx, jobs, now)
    if inserted is None:
        with tx.atomic():
            inserted = _insert_checked(tx, jobs, now)
    return inserted


def insert_in(tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
    """``insert`` inside a transaction that is already open."""
    inserted = _insert_unchecked(tx, jobs, now)
    return _insert_checked(tx, jobs, now) if inserted is None else inserted


def _insert_unchecked(
    tx: Tx, jobs: Sequence[b.NewJob], now: datetime
) -> list[b.InsertedJob] | None:
    """The one-statement path, or None when it does not apply (a unique key in the batch) or
    inserted nothing (a tenant of the batch has a ``max_queued`` to check)."""
    if any(job.unique_key is not None for job in jobs):
        return None
    ids = _insert_plain(tx, jobs, now, checked=False)
    return None if ids is None else [b.InsertedJob(id=job_id, created=True) for job_id in ids]


def _insert_checked(tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
    """In a transaction: the ``max_queued`` check, the jobs without a unique key in one
    statement, the others one by one; then wake the queues of those created."""
    check_max_queued(tx, jobs)
    plain = [job for job in jobs if job.unique_key is None]
    new_ids = iter((_insert_plain(tx, plain, now, checked=True) or []) if plain else [])
    results = [
        b.InsertedJob(id=next(new_ids), created=True)
        if job.unique_key is None
        else insert_one(tx, job, now)
        for job in jobs
    ]
    woken = {
        job.queue
        for job, result in zip(jobs, results, strict=True)
        if job.unique_key is not None and result.created and job.state == JobState.QUEUED
    }
    notify(tx, woken)
    return results


def _insert_plain(
    tx: Tx, jobs: Sequence[b.NewJob], now: datetime, *, checked: bool
) -> list[int] | None:
    """Insert ``jobs`` (no unique keys) and wake their queues; their ids in order, or None when
    unchecked and a tenant of the batch has a ``max_queued`` (nothing was inserted)."""
    row = tx.one("job_insert_plain", _plain_query(jobs, now, checked))
    if row is None or row["limited"]:
        return None
    ids: list[int] = row["ids"]
    if len(ids) != len(jobs):
        raise DatabaseError(f"inserted {len(ids)} of {len(jobs)} jobs")
    return ids


def _plain_query(jobs: Sequence[b.NewJob], now: datetime, checked: bool) -> dict[str, Any]:
    rows = [
        {
            "tenant": job.tenant,
            "queue": job.queue,
            "task": job.task,
            "args": orjson.Fragment(job.args_json),
            "kwargs": orjson.Fragment(job.kwargs_json),
            "state": job.state.value,
            "priority": job.priority,
            "max_attempts": job.max_attempts,
            "timeout": job.timeout,
            "concurrency_key": job.concurrency_key,
            "concurrency_limit": job.concurrency_limit,
            "run_at": job.run_at,
            "trace_context": job.trace_context,
            "isolation": job.isolation,
            "memory_limit": job.memory_limit,
        }
        for job in jobs
    ]
    return {
        "jobs": orjson.dumps(rows).decode(),
        "tenants": sorted({job.tenant for job in jobs}),
        "checked": checked,
        "now": now,
    }
