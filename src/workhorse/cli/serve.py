"""``workhorse serve``: the one command that runs everything on one machine."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.live import Live

from workhorse.app import Workhorse
from workhorse.cli._common import app_option, database_url_option, friendly_errors, load_app
from workhorse.cli.api import docs_option, host_option, port_option
from workhorse.cli.logs import log_format_option, log_level_option, setup_logging
from workhorse.cli.observability import (
    gauge_options,
    metrics_host_option,
    metrics_port_option,
    metrics_token_option,
)
from workhorse.cli.worker import process_pool_options
from workhorse.dbcall import thread_db_call
from workhorse.events.process import DispatchCommand, DispatchProcess
from workhorse.observability.gauges import GaugeSettings
from workhorse.redact import redact_url
from workhorse.scheduling.maintenance import Maintenance
from workhorse.serve.supervisor import Supervisor, WorkerCommand
from workhorse.serve.view import Rates, render, summary_line, take_snapshot

if TYPE_CHECKING:
    from workhorse.api.app import ApiSettings

log = logging.getLogger("workhorse.serve")

DEMO_APP = "workhorse.demo:app"


@click.command()
@app_option(required=False)
@database_url_option
@click.option("--demo", is_flag=True, help="Run demo tasks with steady traffic from 3 tenants.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--queues", "-q", default="default", show_default=True)
@process_pool_options
@click.option("--view/--no-view", default=None, help="Live view (default: when stdout is a TTY).")
@click.option("--api/--no-api", "with_api", default=True, help="Serve the REST API too (default).")
@host_option
@port_option
@docs_option
@metrics_port_option
@metrics_host_option
@metrics_token_option
@gauge_options
@log_level_option
@log_format_option
@friendly_errors
def serve(
    app_path: str | None,
    database_url: str,
    demo: bool,
    workers: int,
    concurrency: int,
    queues: str,
    processes: int | None,
    max_jobs_per_child: int | None,
    max_memory_per_child: int | None,
    view: bool | None,
    with_api: bool,
    host: str,
    port: int,
    docs: bool,
    metrics_port: int | None,
    metrics_host: str,
    metrics_token: str | None,
    log_level: str,
    log_format: str,
    gauges: GaugeSettings,
) -> None:
    """Run worker processes, an event dispatcher process, the maintenance loops and the REST API
    until Ctrl-C / SIGTERM.

    Metrics: the API's /metrics (counters of this process and the database-derived gauges; on
    with --metrics-token), and with --metrics-port each worker's own on PORT, PORT+1, …"""
    if demo and app_path:
        raise click.UsageError("--demo runs the demo app; drop --app or --demo")
    if not demo and not app_path:
        raise click.UsageError("pass --app module:attr (or --demo to try Workhorse out)")
    resolved_format = setup_logging(log_level, log_format, service="workhorse-serve")
    app_path = DEMO_APP if demo or app_path is None else app_path
    app = load_app(app_path, database_url, create=True)
    app.open()  # on SQLite, migrate; and fail fast on a bad database before starting workers
    live = sys.stdout.isatty() if view is None else view
    command = WorkerCommand(
        app_path=app_path,
        database_url=database_url,
        concurrency=concurrency,
        queues=queues,
        log_level="warning" if live else log_level,
        # Workers log to this terminal (or, live, through us): the format we resolved.
        log_format="text" if live else resolved_format,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        metrics_token=metrics_token,
        processes=processes,
        max_jobs_per_child=max_jobs_per_child,
        max_memory_per_child=max_memory_per_child,
    )
    api_socket = _listen(host, port) if with_api else None
    if demo and api_socket is not None:
        _print_demo_key(app, api_socket)
    settings = None
    if with_api:
        from workhorse.api.app import ApiSettings

        settings = ApiSettings(gauges=gauges, metrics_token=metrics_token, docs=docs)
    asyncio.run(
        _serve(app, command, workers, demo=demo, live=live, api_socket=api_socket, api=settings)
    )


async def _serve(
    app: Workhorse,
    command: WorkerCommand,
    count: int,
    *,
    demo: bool,
    live: bool,
    api_socket: socket.socket | None = None,
    api: ApiSettings | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = Console()
    supervisor = Supervisor(
        command,
        count,
        on_line=(
            lambda pid, line: console.print(
                f"[dim]{pid}[/dim] {line}", markup=True, highlight=False
            )
        )
        if live
        else None,
    )
    db = thread_db_call(ThreadPoolExecutor(2, thread_name_prefix="workhorse-db"))
    maintenance = Maintenance(app, holder=f"serve-{os.getpid()}", db=db)
    dispatcher = DispatchProcess(_dispatch_command(app, command))
    tasks = [
        asyncio.create_task(supervisor.run()),
        asyncio.create_task(maintenance.run()),
        asyncio.create_task(dispatcher.run()),
    ]
    if demo:
        tasks.append(asyncio.create_task(_demo_traffic(app)))
    tasks.append(asyncio.create_task(_show(app, console, live, command)))
    if api_socket is not None:
        tasks.append(asyncio.create_task(_api(app, api_socket, live, api)))
    where = redact_url(app.database_url)
    log.info("serving %s on %s with %d worker process(es)", command.app_path, where, count)
    await stop.wait()
    log.info("stopping: draining workers")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await maintenance.resign()
    await supervisor.stop()
    log.info("stopped")


def _dispatch_command(app: Workhorse, workers: WorkerCommand) -> DispatchCommand:
    """The event dispatcher serve keeps running for its workers: a process of its own, so that
    sending takes CPU from neither the jobs nor the API served from this process."""
    return DispatchCommand(
        database_url=app.database_url,
        log_level=workers.log_level,
        log_format=workers.log_format,
    )


async def _demo_traffic(app: Workhorse) -> None:
    from workhorse.demo import demo_batch

    rng = random.Random()
    while True:
        try:
            await app.enqueue_many_async(demo_batch(rng))
        except Exception:
            log.exception("demo enqueue failed")
        await asyncio.sleep(rng.uniform(0.1, 0.4))


async def _show(app: Workhorse, console: Console, live: bool, command: WorkerCommand) -> None:
    rates = Rates()
    title = f"workhorse serve · {command.app_path} · {redact_url(app.database_url)}"
    if not live:
        while True:
            await asyncio.sleep(5)
            snapshot = await asyncio.to_thread(take_snapshot, app)
            log.info("%s", summary_line(snapshot, rates.add(snapshot)))
    with Live(console=console, refresh_per_second=2, transient=False) as view:
        while True:
            snapshot = await asyncio.to_thread(take_snapshot, app)
            view.update(render(snapshot, rates.add(snapshot), title))
            await asyncio.sleep(1)


# -- the REST API ----------------------------------------------------------------------------


def _listen(host: str, port: int) -> socket.socket:
    """Bind the API's port before anything starts, so a port in use is a one-line error."""
    from workhorse.api.server import listen

    try:
        return listen(host, port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the API on {host}:{port} ({exc.strerror}); pass --port or --no-api"
        ) from None


def _print_demo_key(app: Workhorse, sock: socket.socket) -> None:
    """``--demo``: the dashboard's address and a fresh admin key to sign in to it with."""
    host, port = sock.getsockname()[:2]
    key = app.admin.create_api_key(tenant=None, name="serve --demo")
    click.echo(f"Dashboard: http://{host}:{port}/ui  (sign in with the demo admin key {key.token})")


async def _api(
    app: Workhorse, sock: socket.socket, live: bool, settings: ApiSettings | None
) -> None:
    """Serve the REST API in this event loop; uvicorn's signal handling stays off (ours drains
    the workers), and cancelling this task stops it gracefully."""
    from workhorse.api.server import EmbeddedServer, server_config

    host, port = sock.getsockname()[:2]
    docs = " (docs at /docs)" if settings is not None and settings.docs else ""
    log.info("REST API on http://%s:%d%s", host, port, docs)
    config = server_config(
        app, settings=settings, log_level="warning" if live else "info", access_log=False
    )
    await EmbeddedServer(config).serve_until_cancelled(sock)
