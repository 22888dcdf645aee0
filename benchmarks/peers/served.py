"""What the peers share: the servers whose CPU counts, and a synchronous client's enqueue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import cpu
import pg
from measure import Enqueue


def redis_servers() -> list[int]:
    """The Redis server: every system's broker or completion record lives there."""
    return cpu.named("redis-server")


def postgres_servers(database: str) -> list[int]:
    """Redis (the completion record) and PostgreSQL's processes serving ``database``."""
    return redis_servers() + pg.server_pids(database)


@asynccontextmanager
async def calling(send: Callable[[int], object]) -> AsyncIterator[Enqueue]:
    """A synchronous library's single-job call, as the runner's awaitable enqueue."""

    async def enqueue(seq: int) -> None:
        send(seq)

    yield enqueue
