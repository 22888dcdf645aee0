"""``workhorse dispatch``: a process that only delivers the outbox's events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.dbcall import DbCall
from workhorse.events.consume import run
from workhorse.events.dispatcher import Dispatcher

A = TypeVar("A")
T = TypeVar("T")


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
        dispatcher = Dispatcher(app.backend, _threads(), app.clock, config=app.dispatcher_config)
        task = asyncio.create_task(dispatcher.run())
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        run(deliver)
    finally:
        app.close()


def _threads() -> DbCall:
    def call(fn: Callable[[A], T], params: A, /) -> Awaitable[T]:
        return asyncio.to_thread(fn, params)

    return call
