"""Commands that read and change jobs: migrate, enqueue, jobs, workers."""

from __future__ import annotations

from datetime import timedelta

import click

from workhorse.cli._common import (
    app_option,
    database_url_option,
    friendly_errors,
    load_app,
    parse_json,
)
from workhorse.cli.render import console, job_detail, jobs_table, print_json, workers_table
from workhorse.jobs import JobState


@click.command()
@database_url_option
@friendly_errors
def migrate(database_url: str) -> None:
    """Create or upgrade the database schema (safe to run concurrently)."""
    app = load_app(None, database_url, create=True)
    try:
        applied = app.migrate()
        version = app.schema_status().version
    finally:
        app.close()
    if applied:
        click.echo(f"applied migrations {', '.join(map(str, applied))}; schema version {version}")
    else:
        click.echo(f"schema is up to date (version {version})")


@click.command()
@click.argument("task")
@click.option("--args", "args_json", metavar="JSON", help="Positional arguments, a JSON array.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments, a JSON object.")
@click.option("--tenant", help="Tenant the job belongs to (default: default).")
@click.option("--queue", help="Queue (default: the task's).")
@click.option("--priority", type=int, help="Higher runs first.")
@click.option("--delay", type=click.FloatRange(min=0, min_open=True), help="Seconds to wait.")
@click.option("--unique-key", help="Return the live job with this key instead of a duplicate.")
@click.option("--max-attempts", type=click.IntRange(min=1))
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds.")
@app_option(required=True)
@database_url_option
@friendly_errors
def enqueue(
    task: str,
    args_json: str | None,
    kwargs_json: str | None,
    tenant: str | None,
    queue: str | None,
    priority: int | None,
    delay: float | None,
    unique_key: str | None,
    max_attempts: int | None,
    timeout: float | None,
    app_path: str,
    database_url: str,
) -> None:
    """Enqueue a job of TASK; prints the job id as the last line."""
    app = load_app(app_path, database_url)
    args = parse_json(args_json, "--args", list)
    kwargs = parse_json(kwargs_json, "--kwargs", dict)
    options = {
        "tenant": tenant,
        "queue": queue,
        "priority": priority,
        "delay": None if delay is None else timedelta(seconds=delay),
        "unique_key": unique_key,
        "max_attempts": max_attempts,
        "timeout": timeout,
    }
    handle = app.enqueue(task, args, kwargs, **{k: v for k, v in options.items() if v is not None})
    if not handle.created:
        click.echo(f"a live job with unique key {unique_key!r} exists", err=True)
    click.echo(handle.id)


@click.group()
def jobs() -> None:
    """List, show, cancel and retry jobs."""


@jobs.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in JobState]),
    help="Only these states (repeatable).",
)
@click.option("--queue")
@click.option("--task")
@click.option("--tenant")
@click.option("--before-id", type=int, help="Page: only jobs with a smaller id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def jobs_list(
    states: tuple[str, ...],
    queue: str | None,
    task: str | None,
    tenant: str | None,
    before_id: int | None,
    limit: int,
    as_json: bool,
    database_url: str,
) -> None:
    """Jobs, newest first."""
    app = load_app(None, database_url)
    found = app.list_jobs(
        tenant=tenant,
        states=[JobState(s) for s in states],
        queue=queue,
        task=task,
        before_id=before_id,
        limit=limit,
    )
    if as_json:
        print_json(found)
    else:
        console.print(jobs_table(found))


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def jobs_show(job_id: int, as_json: bool, database_url: str) -> None:
    """One job with its attempts' errors."""
    job = load_app(None, database_url).get_job(job_id)
    if as_json:
        print_json(job)
    else:
        job_detail(job)


@jobs.command("cancel")
@click.argument("job_id", type=int)
@database_url_option
@friendly_errors
def jobs_cancel(job_id: int, database_url: str) -> None:
    """Cancel a job that has not ended (a running one is stopped at its next heartbeat)."""
    job = load_app(None, database_url).cancel(job_id)
    click.echo(f"job {job.id} {job.state}")


@jobs.command("retry")
@click.argument("job_id", type=int)
@database_url_option
@friendly_errors
def jobs_retry(job_id: int, database_url: str) -> None:
    """Put a dead job back in the queue with a fresh budget of attempts."""
    job = load_app(None, database_url).retry(job_id)
    click.echo(f"job {job.id} {job.state}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def workers(as_json: bool, database_url: str) -> None:
    """Workers in the registry, with their last heartbeat."""
    app = load_app(None, database_url)
    found = app.admin.list_workers()
    if as_json:
        print_json(found)
    else:
        console.print(workers_table(found))
