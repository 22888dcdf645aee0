"""RQ on Redis: `rq worker-pool -n P`, P worker processes that run one job at a time each.

RQ has no concurrency within a worker process, so of the budget (P processes × C) it uses P.
`rq` keeps RQ's default worker, which forks a child for every job (RQ's isolation);
`rq-simple` runs jobs in the worker process itself (`SimpleWorker`), RQ's fastest setting.
Defaults kept: a job is removed from the queue when a worker takes it and its outcome is written
when it ends; results kept for 500 s. Completion is read from RQ's own state: the finished-job
registry and each job's `started_at` / `ended_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from rq import Queue
from rq.job import Job

import settings
from measure import timed_loop
from processes import python

SCAN_BATCH = 1000


def noop() -> None:
    """Does nothing."""


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
        self.redis.flushdb()

    def enqueue_bulk(self, jobs: int) -> None:
        # enqueue_many writes each batch through one Redis pipeline.
        queue = self.queue
        for offset in range(0, jobs, settings.ENQUEUE_BATCH):
            count = min(settings.ENQUEUE_BATCH, jobs - offset)
            queue.enqueue_many([Queue.prepare_data(noop) for _ in range(count)])

    def enqueue_single(self, jobs: int) -> float:
        queue = self.queue
        return timed_loop(lambda: queue.enqueue(noop), jobs)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        argv = python(
            "-m", "rq.cli", "worker-pool", settings.QUEUE,
            "--num-workers", str(workers), "--url", settings.REDIS_URL, "--quiet",
        )  # fmt: skip
        if self.worker_class:
            argv += ["--worker-class", self.worker_class]
        return [argv]

    def done(self) -> int:
        return int(self.queue.finished_job_registry.get_job_count(cleanup=False))

    def span_s(self) -> float:
        ids = self.queue.finished_job_registry.get_job_ids(cleanup=False)
        starts: list[datetime] = []
        ends: list[datetime] = []
        for offset in range(0, len(ids), SCAN_BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for job_id in ids[offset : offset + SCAN_BATCH]:
                pipe.hmget(Job.key_for(job_id), "started_at", "ended_at")
            for started, ended in pipe.execute():
                if started and ended:
                    starts.append(_parse(started))
                    ends.append(_parse(ended))
        if not starts:
            return float("nan")
        return (max(ends) - min(starts)).total_seconds()

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None


def _parse(value: bytes) -> datetime:
    return datetime.strptime(value.decode(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
