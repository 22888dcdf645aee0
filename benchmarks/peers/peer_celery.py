"""Celery on Redis: P worker processes with the threads pool, C threads each.

Defaults kept: acks_late off (a message is acknowledged when a worker receives it, before the
task runs), prefetch multiplier 4, no result backend. The no-op's only work is the completion
record of `counter`, as every system's.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager

from celery import Celery, group
from kombu import pools

import counter
import settings
from measure import Enqueue
from processes import python
from served import calling, redis_servers

app = Celery("peer_celery", broker=settings.REDIS_URL)
app.conf.task_default_queue = settings.QUEUE
app.conf.broker_connection_retry_on_startup = True


@app.task(name="noop")
def noop(seq: int) -> None:
    counter.record(seq, time.time())


class CeleryPeer:
    name = "celery"
    distribution = "celery"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"{workers} × `celery worker --pool threads --concurrency {concurrency}`"

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # A group is Celery's many-messages call: it publishes them over one producer connection.
        for offset in range(0, len(seqs), settings.ENQUEUE_BATCH):
            batch = seqs[offset : offset + settings.ENQUEUE_BATCH]
            group(noop.si(seq) for seq in batch).apply_async()

    def producer(self) -> AbstractAsyncContextManager[Enqueue]:
        return calling(noop.delay)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "celery", "--app", "peer_celery", "worker",
                "--pool", "threads", "--concurrency", str(concurrency),
                "--queues", settings.QUEUE, "--hostname", f"peers{index}@%h",
                "--loglevel", "WARNING",
            )
            for index in range(workers)
        ]  # fmt: skip

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        # Close the producer connections, and forget the pool: the next run opens a new one.
        app.pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()
