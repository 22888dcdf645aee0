"""``/v1/queues`` (job counts by state) and ``/v1/workers`` (the worker registry, admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from workhorse.api.auth import Admin, App, Caller
from workhorse.api.schemas import QueueOut, QueuesOut, WorkerOut, WorkersOut
from workhorse.api.types import Name
from workhorse.jobs import JobState

router = APIRouter()


@router.get("/queues", response_model=QueuesOut, tags=["queues"], operation_id="listQueues")
def queues(
    app: App,
    caller: Caller,
    tenant: Annotated[Name | None, Query(description="Admin keys only.")] = None,
) -> QueuesOut:
    """Job counts by state for every (tenant, queue) with jobs; a tenant key sees its own."""
    rows = app.admin.queue_counts(tenant=caller.tenant_filter(tenant))
    grouped: dict[tuple[str, str], dict[JobState, int]] = {}
    for row in rows:
        counts = grouped.setdefault((row.tenant, row.queue), dict.fromkeys(JobState, 0))
        counts[row.state] += row.count
    return QueuesOut(
        queues=[
            QueueOut(tenant=tenant, queue=queue, counts=counts)
            for (tenant, queue), counts in sorted(grouped.items())
        ]
    )


@router.get("/workers", response_model=WorkersOut, tags=["workers"], operation_id="listWorkers")
def workers(app: App, caller: Admin) -> WorkersOut:
    """Registered workers with their last heartbeat (admin keys only)."""
    found = app.admin.list_workers()
    return WorkersOut(
        workers=[
            WorkerOut(
                id=w.id,
                host=w.host,
                pid=w.pid,
                queues=w.queues,
                concurrency=w.concurrency,
                started_at=w.started_at,
                last_seen_at=w.last_seen_at,
            )
            for w in found
        ]
    )
