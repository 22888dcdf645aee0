"""Dramatiq on Redis: one `dramatiq --processes P --threads C` (P worker processes, C threads each).

Defaults kept: messages are acknowledged after the actor returns (at-least-once), prefetch of
2 × threads per queue, the default middleware (age and time limits, retries, callbacks). The
no-op's only work is the completion record in `counter`, since Dramatiq keeps none without its
results middleware.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

import counter
import settings
from measure import timed_loop
from processes import python

broker = RedisBroker(url=settings.REDIS_URL)
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop", queue_name=settings.QUEUE)
def noop() -> None:
    counter.record()


class DramatiqPeer:
    name = "dramatiq"
    distribution = "dramatiq"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"`dramatiq --processes {workers} --threads {concurrency}`"

    def reset(self) -> None:
        counter.flush()

    def enqueue_bulk(self, jobs: int) -> None:
        # Dramatiq has no batched enqueue: a group sends its messages one by one.
        for offset in range(0, jobs, settings.ENQUEUE_BATCH):
            count = min(settings.ENQUEUE_BATCH, jobs - offset)
            dramatiq.group(noop.message() for _ in range(count)).run()

    def enqueue_single(self, jobs: int) -> float:
        return timed_loop(noop.send, jobs)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "dramatiq", "peer_dramatiq",
                "--processes", str(workers), "--threads", str(concurrency),
                "--queues", settings.QUEUE,
            )
        ]  # fmt: skip

    def done(self) -> int:
        return counter.done()

    def span_s(self) -> float:
        return counter.span_s()

    def close(self) -> None:
        broker.client.close()
