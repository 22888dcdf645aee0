"""Rows into domain objects, written once: both databases name their columns alike, and a
``Values`` converts what each stores differently (times, JSON, lists, booleans, durations)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from workhorse.backends import base as b
from workhorse.backends.claiming import Candidate, Place, Running, TenantRow
from workhorse.backends.store import Row, Values
from workhorse.jobs import AttemptError, AttemptUsage, Job, JobState
from workhorse.tenants import Tenant
from workhorse.types import JSON
from workhorse.workflows import Workflow, WorkflowState


def job(row: Row, v: Values) -> Job:
    return Job(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=cast("list[JSON]", v.json(row["args"])),
        kwargs=cast("dict[str, JSON]", v.json(row["kwargs"])),
        state=JobState(row["state"]),
        priority=row["priority"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        unique_key=row["unique_key"],
        concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"],
        result=v.json(row["result"]),
        errors=_errors(v.json(row["errors"])),
        progress=v.json(row["progress"]),
        worker_id=row["worker_id"],
        created_at=v.at(row["created_at"]),
        run_at=v.at(row["run_at"]),
        started_at=v.opt_at(row["started_at"]),
        finished_at=v.opt_at(row["finished_at"]),
        lease_expires_at=v.opt_at(row["lease_expires_at"]),
        attempt_usage=_usage(v.json(row["usage"])),
        workflow_id=row["workflow_id"],
        step_key=row["step_key"],
        cancelled_by=row["cancelled_by"],
    )


def _usage(stored: JSON) -> list[AttemptUsage]:
    """The attempts' usage, stored as a JSON array of {attempt, wall, cpu, rss, slots}."""
    entries = cast("list[dict[str, Any]]", stored or [])
    return [
        AttemptUsage(
            attempt=entry["attempt"],
            wall_seconds=entry["wall"],
            cpu_seconds=entry.get("cpu"),
            max_rss_bytes=entry.get("rss"),
            slots=entry.get("slots", 1),
        )
        for entry in entries
    ]


def _errors(stored: JSON) -> list[AttemptError]:
    """The attempts' errors, stored as a JSON array whose ``at`` are epoch seconds."""
    entries = cast("list[dict[str, Any]]", stored)
    return [
        AttemptError(
            attempt=entry["attempt"],
            type=entry["type"],
            message=entry["message"],
            traceback=entry.get("traceback"),
            at=datetime.fromtimestamp(entry["at"], UTC),
        )
        for entry in entries
    ]


def claimed(row: Row, v: Values, lease_token: str) -> b.ClaimedJob:
    """A job a claim marked running under ``lease_token``."""
    return b.ClaimedJob(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=cast("list[JSON]", v.json(row["args"])),
        kwargs=cast("dict[str, JSON]", v.json(row["kwargs"])),
        attempt=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        lease_token=lease_token,
        run_at=v.at(row["run_at"]),
        trace_context=row["trace_context"],
        isolation=row["isolation"],
        memory_limit=row["memory_limit"],
    )


def candidate(row: Row, v: Values) -> Candidate:
    return Candidate(
        id=row["id"],
        tenant=row["tenant"],
        priority=row["priority"],
        run_at=v.at(row["run_at"]),
        concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"],
    )


def expired(row: Row) -> b.ExpiredJob:
    return b.ExpiredJob(
        id=row["id"],
        task=row["task"],
        attempt=row["attempts"],
        max_attempts=row["max_attempts"],
        lease_token=row["lease_token"],
        worker_id=row["worker_id"],
    )


def queue_count(row: Row) -> b.QueueCount:
    return b.QueueCount(
        tenant=row["tenant"],
        queue=row["queue"],
        state=JobState(row["state"]),
        count=int(row["count"]),
    )


def tenant(row: Row, v: Values) -> Tenant:
    return Tenant(
        name=row["name"],
        weight=row["weight"],
        max_running=row["max_running"],
        max_queued=row["max_queued"],
        rate=row["rate"],
        burst=row["burst"],
        paused=v.flag(row["paused"]),
        created_at=v.at(row["created_at"]),
        updated_at=v.at(row["updated_at"]),
    )


TENANT_SETTINGS = (
    "weight",
    "max_running",
    "rate",
    "burst",
    "paused",
    "usage",
    "usage_at",
    "mean_cost",
    "tokens",
    "tokens_at",
)
"""The columns of a tenant's row a claim reads, in the order ``tenant_of`` takes them."""


def tenant_row(row: Row, v: Values) -> TenantRow:
    """A tenant's row for the claim; a tenant with jobs but no row yet (all columns NULL) gets
    the defaults."""
    return tenant_of(v, row["name"], [row[column] for column in TENANT_SETTINGS])


def tenant_of(v: Values, name: str, settings: Sequence[Any]) -> TenantRow:
    """``tenant_row`` from the values of ``TENANT_SETTINGS`` in order (a claim builds one per
    place it reads)."""
    weight, max_running, rate, burst, paused, usage, usage_at, mean_cost, tokens, tokens_at = (
        settings
    )
    if weight is None:
        return TenantRow(name=name)
    return TenantRow(
        name=name,
        weight=weight,
        max_running=max_running,
        rate=rate,
        burst=burst,
        paused=v.flag(paused),
        usage=usage,
        usage_at=v.opt_at(usage_at),
        mean_cost=mean_cost,
        tokens=tokens,
        tokens_at=v.opt_at(tokens_at),
    )


def place(row: Row, v: Values, running: Running) -> Place:
    """A place at the front of the fair order, its tenant's settings under ``name``."""
    return Place(
        queue=row["queue"],
        place=row["place"],
        arrivals=row["arrivals"],
        held=bool(row["held"]),
        row=tenant_row(row, v),
        running=running,
    )


def api_key(row: Row, v: Values) -> b.ApiKey:
    return b.ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        tenant=row["tenant"],
        name=row["name"],
        created_at=v.at(row["created_at"]),
        last_used_at=v.opt_at(row["last_used_at"]),
        revoked_at=v.opt_at(row["revoked_at"]),
    )


def worker(row: Row, v: Values) -> b.WorkerInfo:
    return b.WorkerInfo(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        queues=v.elements(row["queues"]),
        concurrency=row["concurrency"],
        started_at=v.at(row["started_at"]),
        last_seen_at=v.at(row["last_seen_at"]),
    )


def stats_bucket(row: Row, v: Values, params: b.JobStatsParams) -> b.JobStatsBucket:
    return b.JobStatsBucket(
        start=params.since + row["bucket"] * params.bucket,
        succeeded=int(row["succeeded"]),
        dead=int(row["dead"]),
        cancelled=int(row["cancelled"]),
        wait_p50=v.interval(row["wait_p50"]),
        wait_p95=v.interval(row["wait_p95"]),
    )


def group_stats(row: Row) -> b.JobGroupStats:
    return b.JobGroupStats(
        tenant=row["tenant"],
        queue=row["queue"],
        state=JobState(row["state"]),
        count=int(row["count"]),
        created=int(row["created"]),
        due=int(row["due"]),
        runs=int(row["runs"]),
        run_seconds=float(row["run_seconds"]),
    )


def workflow(row: Row, v: Values) -> Workflow:
    return Workflow(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        state=WorkflowState(row["state"]),
        steps=row["steps"],
        steps_left=row["steps_left"],
        steps_dead=row["steps_dead"],
        steps_cancelled=row["steps_cancelled"],
        created_at=v.at(row["created_at"]),
        finished_at=v.opt_at(row["finished_at"]),
    )
