"""The pruner: deletes finished jobs and settled events past their retention, and workers long
gone."""

from __future__ import annotations

from datetime import datetime, timedelta

from workhorse.backends import base as b

BATCH = 5000


def prune(backend: b.Backend, now: datetime, retention: timedelta) -> int:
    """Delete terminal jobs that finished more than ``retention`` ago; returns how many."""
    total = 0
    while True:
        params = b.JobPruneParams(finished_before=now - retention, limit=BATCH)
        count = backend.job_prune(params)
        total += count
        if count < BATCH:
            return total


def prune_events(backend: b.Backend, now: datetime, retention: timedelta) -> int:
    """Delete events that occurred more than ``retention`` ago and that every destination is done
    with (delivered, or given up on), with their deliveries and delivery log; returns how many.
    Undelivered events stay, however old."""
    total = 0
    while True:
        params = b.EventPruneParams(occurred_before=now - retention, limit=BATCH)
        count = backend.event_prune(params)
        total += count
        if count < BATCH:
            return total


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
