"""``workhorse dispatch``: a process that only delivers the outbox's events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import click

from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.cli.logs import log_format_option, log_level_option, setup_logging
from workhorse.events.consume import run
from workhorse.events.dispatcher import standalone

log = logging.getLogger("workhorse.events")


@click.command()
@database_url_option
@click.option("--parent-pid", type=int, hidden=True, help="Stop when this process is gone.")
@click.option(
    "--nice",
    type=click.IntRange(min=0, max=19),
    default=0,
    show_default=True,
    help="Lower this process's CPU priority by this much: on a busy machine, jobs first.",
)
@log_level_option
@log_format_option
@friendly_errors
def dispatch(
    database_url: str, parent_pid: int | None, nice: int, log_level: str, log_format: str
) -> None:
    """Deliver events to webhooks and brokers until SIGTERM/SIGINT, in a process of its own so
    that sending never takes CPU from jobs. Workers start one of these each by default
    (`workhorse worker --dispatch process`), and `workhorse serve` one for its workers; run more
    beside `--dispatch off` workers as needed. Any number may run: each claims its own
    deliveries (on SQLite, one at a time through the database's write lock)."""
    setup_logging(log_level, log_format, service="workhorse-dispatch")
    if nice:
        os.nice(nice)
    app = load_app(None, database_url)

    async def deliver(stop: asyncio.Event) -> None:
        # On SIGTERM the round under way ends (its sends are bounded by their timeouts) and is
        # recorded, rather than left claimed until the lease runs out.
        watch = asyncio.create_task(_watch_parent(parent_pid, stop))
        await standalone(app).run(stop)
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch

    try:
        run(deliver)
    finally:
        app.close()


async def _watch_parent(pid: int | None, stop: asyncio.Event) -> None:
    """Set ``stop`` once process ``pid`` (the parent that started us) is gone."""
    if pid is None:
        return
    while os.getppid() == pid:
        await asyncio.sleep(1)
    log.warning("parent process %d is gone; stopping", pid)
    stop.set()
