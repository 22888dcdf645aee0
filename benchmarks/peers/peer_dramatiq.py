"""Dramatiq on Redis: one `dramatiq --processes P --threads C` (P worker processes, C threads each).

Defaults kept: messages are acknowledged after the actor returns (at-least-once), prefetch of
2 × threads per queue, the default middleware (age and time limits, retries, callbacks). The
job's only work is the completion record of `counter`, as every system's.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager

import dramatiq
from dramatiq.brokers.redis import RedisBroker

import counter
import settings
from measure import Enqueue
from processes import python
from served import calling, redis_servers

broker = RedisBroker(url=settings.REDIS_URL)
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop", queue_name=settings.QUEUE)
def noop(seq: int) -> None:
    counter.record(seq, time.time())


class DramatiqPeer:
    name = "dramatiq"
    distribution = "dramatiq"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"`dramatiq --processes {workers} --threads {concurrency}`"

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # Dramatiq has no batched enqueue: a group sends its messages one by one.
        for offset in range(0, len(seqs), settings.ENQUEUE_BATCH):
            batch = seqs[offset : offset + settings.ENQUEUE_BATCH]
            dramatiq.group(noop.message(seq) for seq in batch).run()

    def producer(self) -> AbstractAsyncContextManager[Enqueue]:
        return calling(noop.send)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "dramatiq", "peer_dramatiq",
                "--processes", str(workers), "--threads", str(concurrency),
                "--queues", settings.QUEUE,
            )
        ]  # fmt: skip

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        broker.client.close()
