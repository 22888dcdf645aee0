"""The pruner: deletes finished jobs past their retention (with their dependency edges), ended
workflows and settled events past the same retention, and workers long gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from workhorse.backends import base as b
from workhorse.clock import day_start

BATCH = 5000


def prune(backend: b.Backend, now: datetime, retention: timedelta) -> int:
    """Delete terminal jobs (and their dependency edges) and ended workflows that finished more
    than ``retention`` ago; returns how many jobs and workflows.

    Ended jobs go by whole UTC days, once every job of the day is past ``retention``: a job is
    kept from ``retention`` to a day longer. PostgreSQL keeps them in a partition per day and
    drops the day's partition (however many jobs it held, an instant); the rest (SQLite, or a
    day that had no partition) are deleted row by row."""
    cutoff = now - retention
    history = backend.job_history_rotate(b.JobHistoryParams(now=now, finished_before=cutoff))
    jobs = b.JobPruneParams(finished_before=day_start(cutoff), limit=BATCH)
    # by the same days: a workflow never goes before its steps
    workflows = b.WorkflowPruneParams(finished_before=day_start(cutoff), limit=BATCH)
    pruned = history.jobs + _in_batches(lambda: backend.job_prune(jobs))
    return pruned + _in_batches(lambda: backend.workflow_prune(workflows))


def _in_batches(delete: Callable[[], int]) -> int:
    """Call ``delete`` (a batch of at most BATCH) until a batch falls short; the total deleted."""
    total = 0
    while True:
        count = delete()
        total += count
        if count < BATCH:
            return total


def prune_events(backend: b.Backend, now: datetime, retention: timedelta) -> int:
    """Delete events that occurred more than ``retention`` ago and that every destination is done
    with (delivered, or given up on), with their deliveries and delivery log; returns how many.
    Undelivered events stay, however old."""
    params = b.EventPruneParams(occurred_before=now - retention, limit=BATCH)
    return _in_batches(lambda: backend.event_prune(params))


def forget_workers(backend: b.Backend, now: datetime, after: timedelta) -> int:
    """Remove registry rows of workers not seen for ``after``; returns how many."""
    return backend.worker_delete(b.WorkerDeleteParams(seen_before=now - after))


def forget_idempotency_keys(backend: b.Backend, now: datetime) -> int:
    """Delete expired Idempotency-Key records (the HTTP API's); returns how many."""
    total = 0
    while True:
        count = backend.idempotency_prune(b.IdempotencyPruneParams(now=now, limit=BATCH))
        total += count
        if count < BATCH:
            return total
