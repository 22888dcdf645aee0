"""Turning jobs and workers into tables and JSON for the terminal."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from workhorse.backends.base import WorkerInfo
from workhorse.jobs import Job
from workhorse.sizes import human

console = Console(highlight=False, soft_wrap=True)


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2))


def when(value: datetime | None) -> str:
    """A time for a table cell; empty for None."""
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def jobs_table(jobs: list[Job]) -> Table:
    table = Table("id", "tenant", "queue", "task", "state", "attempts", "created", "finished")
    for job in jobs:
        table.add_row(
            str(job.id),
            job.tenant,
            job.queue,
            job.task,
            str(job.state),
            f"{job.attempts}/{job.max_attempts}",
            when(job.created_at),
            when(job.finished_at),
        )
    return table


def job_detail(job: Job) -> None:
    console.print(f"[bold]job {job.id}[/bold]  {job.task}  [bold]{job.state}[/bold]")
    rows = [
        ("tenant", job.tenant),
        ("queue", job.queue),
        ("priority", str(job.priority)),
        ("args", json.dumps(job.args)),
        ("kwargs", json.dumps(job.kwargs)),
        ("attempts", f"{job.attempts}/{job.max_attempts}"),
        ("timeout", "" if job.timeout is None else f"{job.timeout:g}s"),
        ("unique key", job.unique_key or ""),
        ("result", json.dumps(job.result)),
        ("progress", json.dumps(job.progress)),
        ("created", when(job.created_at)),
        ("run at", when(job.run_at)),
        ("started", when(job.started_at)),
        ("finished", when(job.finished_at)),
        ("worker", job.worker_id or ""),
    ]
    for name, value in rows:
        console.print(f"  {name:<11} {value}", markup=False)
    for error in job.errors:
        console.print(
            f"  attempt {error.attempt} failed at {when(error.at)}: {error.type}: {error.message}",
            markup=False,
        )
    if job.attempt_usage:
        total = job.usage
        figures = _usage(total.wall_seconds, total.cpu_seconds, total.max_rss_bytes)
        console.print(f"  {'usage':<11} {figures}", markup=False)
    for used in job.attempt_usage:
        figures = _usage(used.wall_seconds, used.cpu_seconds, used.max_rss_bytes)
        console.print(
            f"  attempt {used.attempt} used {figures}, {used.slots} slot(s)", markup=False
        )


def _usage(wall: float, cpu: float | None, rss: int | None) -> str:
    """``wall 1.50s, cpu 1.20s, peak 80.2 MiB`` (what is unknown left out)."""
    parts = [f"wall {wall:.2f}s"]
    if cpu is not None:
        parts.append(f"cpu {cpu:.2f}s")
    if rss is not None:
        parts.append(f"peak {human(rss)}")
    return ", ".join(parts)


def workers_table(workers: list[WorkerInfo]) -> Table:
    table = Table("id", "host", "pid", "queues", "concurrency", "started", "last seen")
    for worker in workers:
        table.add_row(
            worker.id,
            worker.host,
            str(worker.pid),
            ",".join(worker.queues),
            str(worker.concurrency),
            when(worker.started_at),
            when(worker.last_seen_at),
        )
    return table
