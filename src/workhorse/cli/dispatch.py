"""``workhorse dispatch``: a process that only delivers the outbox's events."""

from __future__ import annotations

import asyncio
import contextlib

import click

from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.events.consume import run
from workhorse.events.dispatcher import standalone


@click.command()
@database_url_option
@friendly_errors
def dispatch(database_url: str) -> None:
    """Deliver events to webhooks and brokers until SIGTERM/SIGINT, in a process of its own so
    that sending never takes CPU from jobs (pair with `workhorse worker --no-dispatch`). Any
    number may run: each claims its own deliveries (on SQLite, one at a time through the
    database's write lock)."""
    app = load_app(None, database_url)

    async def deliver(stop: asyncio.Event) -> None:
        task = asyncio.create_task(standalone(app).run())
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        run(deliver)
    finally:
        app.close()
