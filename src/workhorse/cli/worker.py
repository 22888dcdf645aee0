"""``workhorse worker``: run jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from workhorse.cli._common import app_option, database_url_option, friendly_errors, load_app
from workhorse.cli.logs import log_format_option, log_level_option, setup_logging
from workhorse.cli.observability import (
    metrics_host_option,
    metrics_port_option,
    metrics_token_option,
    start_metrics_server,
)
from workhorse.errors import ConfigurationError
from workhorse.observability.exposition import exposition_registry
from workhorse.sizes import to_bytes
from workhorse.worker import DispatchMode, Worker, WorkerConfig

F = TypeVar("F", bound=Callable[..., Any])

EXIT_NOT_HANDED_BACK = 3
"""The exit status when the database could not be reached to hand running jobs back."""


def parse_size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """A size option (``512MiB``, ``2GB``, bytes) in bytes; a bad one is a usage error."""
    try:
        return to_bytes(value, f"--{(param.name or '').replace('_', '-')}")
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None


def process_pool_options(fn: F) -> F:
    """``--processes``, ``--max-jobs-per-child`` and ``--max-memory-per-child``: the child
    processes of process-isolated jobs (``workhorse worker``, and ``serve`` for its workers)."""
    fn = click.option(
        "--max-memory-per-child",
        callback=parse_size_option,
        help="Replace a child process whose memory after a job is above this, e.g. 1GiB.",
    )(fn)
    fn = click.option(
        "--max-jobs-per-child",
        type=click.IntRange(min=1),
        help="Replace a child process after this many jobs (default: never).",
    )(fn)
    return click.option(
        "--processes",
        type=click.IntRange(min=1),
        help="Child processes for process-isolated jobs (default: the number of CPUs).",
    )(fn)


@click.command()
@app_option(required=True)
@database_url_option
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--queues", "-q", default="default", show_default=True, help="Comma-separated.")
@click.option(
    "--prefetch",
    type=click.IntRange(min=0),
    help="Jobs claimed ahead of free slots while jobs are short (default: the concurrency).",
)
@click.option(
    "--burst", is_flag=True, help="Exit once nothing is runnable and no job waits for a retry."
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds SIGTERM waits for running jobs before handing them back.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds a claim stays valid without a heartbeat.",
)
@click.option(
    "--listen-url",
    envvar="WORKHORSE_LISTEN_URL",
    help="PostgreSQL: where to LISTEN for new jobs, a direct URL when --database-url goes "
    "through PgBouncer, or 'none' to poll (env WORKHORSE_LISTEN_URL; default: the database URL, "
    "or polling with ?pgbouncer=on).",
)
@process_pool_options
@click.option(
    "--dispatch",
    "dispatch_mode",
    type=click.Choice([mode.value for mode in DispatchMode]),
    default=DispatchMode.PROCESS.value,
    show_default=True,
    help="Deliver events from a `workhorse dispatch` child process (started once some webhook "
    "or sink exists), from this worker's own loop (inline), or not at all (off: separate "
    "`workhorse dispatch` processes do). On SQLite, process means inline.",
)
@click.option("--no-dispatch", is_flag=True, help="The same as --dispatch off.")
@click.option("--id", "worker_id", help="Worker id (default: host-pid-random).")
@click.option("--parent-pid", type=int, hidden=True, help="Stop when this process is gone.")
@metrics_port_option
@metrics_host_option
@metrics_token_option
@log_level_option
@log_format_option
@friendly_errors
def worker(
    app_path: str,
    database_url: str,
    concurrency: int,
    queues: str,
    prefetch: int | None,
    burst: bool,
    grace: float,
    lease: float,
    listen_url: str | None,
    processes: int | None,
    max_jobs_per_child: int | None,
    max_memory_per_child: int | None,
    dispatch_mode: str,
    no_dispatch: bool,
    worker_id: str | None,
    parent_pid: int | None,
    metrics_port: int | None,
    metrics_host: str,
    metrics_token: str | None,
    log_level: str,
    log_format: str,
) -> None:
    """Claim and run jobs until SIGTERM/SIGINT (which drain gracefully) or, with --burst, until
    no work is left.

    Exits 0 once its jobs finished or were handed back, and 3 when the database could not be
    reached to hand them back (they return to the queue when their leases expire)."""
    setup_logging(log_level, log_format, service="workhorse-worker")
    if listen_url:
        os.environ["WORKHORSE_LISTEN_URL"] = listen_url  # read when the backend opens
    app = load_app(app_path, database_url, create=True)
    queue_names = tuple(q.strip() for q in queues.split(",") if q.strip())
    config = WorkerConfig(
        concurrency=concurrency,
        queues=queue_names,
        prefetch=prefetch,
        burst=burst,
        grace=timedelta(seconds=grace),
        lease=timedelta(seconds=lease),
        worker_id=worker_id,
        parent_pid=parent_pid,
        processes=processes,
        max_jobs_per_child=max_jobs_per_child,
        max_memory_per_child=max_memory_per_child,
        dispatch=DispatchMode.OFF if no_dispatch else DispatchMode(dispatch_mode),
    )
    runner = Worker(app, config)
    app.open()  # a bad URL fails here, before the loop starts
    metrics = None
    if metrics_port is not None:
        registry = exposition_registry(app.metrics.registry, runner.metrics.registry)
        metrics = start_metrics_server(registry, metrics_host, metrics_port, metrics_token)
    try:
        runner.run()
    finally:
        if metrics is not None:
            metrics.stop()
    code = EXIT_NOT_HANDED_BACK if runner.stats.stranded else 0
    if runner.threads_alive:
        # Sync tasks (timed out or handed back) and database calls that never answered cannot be
        # interrupted; their jobs are handed back, failed or left to lease expiry, so end the
        # process without waiting for them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    app.close()
    if code:
        sys.exit(code)
