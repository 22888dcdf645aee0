"""RQ on Redis: `rq worker-pool -n P`, P worker processes that run one job at a time each.

RQ has no concurrency within a worker process, so of the budget (P processes × C) it uses P.
`rq` keeps RQ's default worker, which forks a child for every job (RQ's isolation);
`rq-simple` runs jobs in the worker process itself (`SimpleWorker`), RQ's fastest setting.
Defaults kept: a job is removed from the queue when a worker takes it and its outcome is written
when it ends; results kept for 500 s. The job's only work is the completion record of `counter`,
as every system's.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager

from redis import Redis
from rq import Queue

import counter
import settings
from measure import Enqueue
from processes import python
from served import calling, redis_servers


def noop(seq: int) -> None:
    """Writes the completion record."""
    counter.record(seq, time.time())


class RQPeer:
    distribution = "rq"

    def __init__(self, name: str, worker_class: str | None) -> None:
        self.name = name
        self.worker_class = worker_class
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(settings.REDIS_URL)
        return self._redis

    @property
    def queue(self) -> Queue:
        return Queue(settings.QUEUE, connection=self.redis)

    def describe(self, workers: int, concurrency: int) -> str:
        worker = "SimpleWorker, no fork" if self.worker_class else "fork per job"
        return f"`rq worker-pool -n {workers}` ({worker}; 1 job at a time per process)"

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # enqueue_many writes each batch through one Redis pipeline.
        queue = self.queue
        for offset in range(0, len(seqs), settings.ENQUEUE_BATCH):
            batch = seqs[offset : offset + settings.ENQUEUE_BATCH]
            queue.enqueue_many([Queue.prepare_data(noop, (seq,)) for seq in batch])

    def producer(self) -> AbstractAsyncContextManager[Enqueue]:
        queue = self.queue
        return calling(lambda seq: queue.enqueue(noop, seq))

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        argv = python(
            "-m", "rq.cli", "worker-pool", settings.QUEUE,
            "--num-workers", str(workers), "--url", settings.REDIS_URL, "--quiet",
        )  # fmt: skip
        if self.worker_class:
            argv += ["--worker-class", self.worker_class]
        return [argv]

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None
