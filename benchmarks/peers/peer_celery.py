"""Celery on Redis: P worker processes with the threads pool, C threads each.

Defaults kept: acks_late off (a message is acknowledged when a worker receives it, before the
task runs), prefetch multiplier 4, no result backend. The no-op's only work is the completion
record in `counter`, since Celery keeps none without a result backend.
"""

from __future__ import annotations

from celery import Celery, group
from kombu import pools

import counter
import settings
from measure import timed_loop
from processes import python

app = Celery("peer_celery", broker=settings.REDIS_URL)
app.conf.task_default_queue = settings.QUEUE
app.conf.broker_connection_retry_on_startup = True


@app.task(name="noop")
def noop() -> None:
    counter.record()


class CeleryPeer:
    name = "celery"
    distribution = "celery"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"{workers} × `celery worker --pool threads --concurrency {concurrency}`"

    def reset(self) -> None:
        counter.flush()

    def enqueue_bulk(self, jobs: int) -> None:
        # A group is Celery's many-messages call: it publishes them over one producer connection.
        for offset in range(0, jobs, settings.ENQUEUE_BATCH):
            count = min(settings.ENQUEUE_BATCH, jobs - offset)
            group(noop.si() for _ in range(count)).apply_async()

    def enqueue_single(self, jobs: int) -> float:
        return timed_loop(noop.delay, jobs)

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

    def done(self) -> int:
        return counter.done()

    def span_s(self) -> float:
        return counter.span_s()

    def close(self) -> None:
        # Close the producer connections, and forget the pool: the next run opens a new one.
        app.pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()
