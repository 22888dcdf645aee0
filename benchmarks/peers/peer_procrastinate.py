"""Procrastinate on PostgreSQL: P `procrastinate worker --concurrency C` processes (asyncio).

Defaults kept: a job is fetched with `FOR UPDATE SKIP LOCKED` and moved to `doing`, its outcome
written when it ends (a crashed worker's jobs stay `doing` until its heartbeat expires and they
are retried on request); LISTEN/NOTIFY wake-ups; finished jobs kept. The job's only work is the
completion record of `counter`, as every system's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate

import counter
import pg
import settings
from measure import Enqueue
from processes import python
from served import postgres_servers, stamped

DATABASE = settings.PROCRASTINATE_DATABASE

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=settings.database_url(DATABASE))
)


@app.task(name="noop", queue=settings.QUEUE)
async def noop(seq: int) -> None:
    """Writes the completion record."""
    await counter.record_async(seq, time.time())


class ProcrastinatePeer:
    name = "procrastinate"
    distribution = "procrastinate"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"{workers} × `procrastinate worker --concurrency {concurrency}`"

    def reset(self) -> None:
        counter.flush()
        pg.recreate_database(DATABASE)
        with app.open():
            app.schema_manager.apply_schema()

    async def enqueue_bulk(self, seqs: range) -> None:
        # batch_defer: one statement per batch.
        async with app.open_async():
            for offset in range(0, len(seqs), settings.ENQUEUE_BATCH):
                batch = seqs[offset : offset + settings.ENQUEUE_BATCH]
                await noop.batch_defer_async(*({"seq": seq} for seq in batch))

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[Enqueue]:
        async with app.open_async():

            async def enqueue(seq: int) -> float:
                return await stamped(noop.defer_async(seq=seq))

            yield enqueue

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "procrastinate", "--app", "peer_procrastinate.app", "worker",
                "--concurrency", str(concurrency), "--name", f"peers{index}",
                "--queues", settings.QUEUE,
            )
            for index in range(workers)
        ]  # fmt: skip

    def servers(self) -> list[int]:
        return postgres_servers(DATABASE)

    def close(self) -> None:
        """Every connection is closed when its `open` block ends."""
