"""Workhorse, on PostgreSQL or SQLite: P `workhorse worker --concurrency C` processes (asyncio).

Workhorse runs here from this virtualenv (run.sh installs the repository's checkout into it), with
the same job as every peer: one completion record in Redis. Defaults kept: a claim leases a batch
of jobs, outcomes are written in batches under the lease, LISTEN/NOTIFY wake-ups on PostgreSQL.
Each round gets a fresh database: the benchmark's own PostgreSQL database, recreated, or a new
SQLite file; the URL reaches the workers and producers through WORKHORSE_DATABASE_URL.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from workhorse.app import Workhorse

import counter
import pg
import settings
from measure import Enqueue
from processes import python, run_bounded
from served import calling, postgres_servers, redis_servers

URL_VARIABLE = "WORKHORSE_DATABASE_URL"

app = Workhorse(os.environ.get(URL_VARIABLE))


@app.task(max_attempts=3)
async def noop(seq: int) -> None:
    """Writes the completion record: the same work as every peer's job."""
    await counter.record_async(seq, time.time())


job = noop.with_options(queue=settings.QUEUE)


class WorkhorsePeer:
    distribution = "workhorse"

    def __init__(self, backend: str) -> None:
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"unknown Workhorse backend {backend!r}")
        self.backend = backend
        self.name = f"workhorse-{backend}"

    def describe(self, workers: int, concurrency: int) -> str:
        return (
            f"{workers} × `workhorse worker --concurrency {concurrency}` (asyncio), {self.backend}"
        )

    def reset(self) -> None:
        counter.flush()
        app.close()
        app.database_url = os.environ[URL_VARIABLE] = self._fresh_url()
        run_bounded(python("-m", "workhorse", "migrate", "--database-url", app.database_url),
                    120, Path(tempfile.gettempdir()) / "peers-workhorse-migrate.log")  # fmt: skip

    def _fresh_url(self) -> str:
        if self.backend == "postgresql":
            pg.recreate_database(settings.WORKHORSE_DATABASE)
            return settings.database_url(settings.WORKHORSE_DATABASE)
        folder = Path(os.environ.get("PEERS_TMP", tempfile.gettempdir()))
        for old in folder.glob("workhorse-*.db*"):
            old.unlink()
        # fsync on every commit, as PostgreSQL: the default (NORMAL) syncs only at checkpoints.
        return f"sqlite:///{folder / f'workhorse-{uuid.uuid4().hex[:8]}.db'}?synchronous=full"

    async def enqueue_bulk(self, seqs: range) -> None:
        # enqueue_many: one COPY (PostgreSQL) or one transaction (SQLite) per batch.
        for offset in range(0, len(seqs), settings.ENQUEUE_BATCH):
            app.enqueue_many(
                job.prepare(seq) for seq in seqs[offset : offset + settings.ENQUEUE_BATCH]
            )

    def producer(self) -> AbstractAsyncContextManager[Enqueue]:
        # The synchronous call: enqueue_async only moves it to a thread.
        return calling(job.enqueue)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "workhorse", "worker", "--app", "peer_workhorse:app",
                "--queues", settings.QUEUE, "--concurrency", str(concurrency),
                "--log-level", "warning",
            )
            for _ in range(workers)
        ]  # fmt: skip

    def servers(self) -> list[int]:
        if self.backend == "postgresql":
            return postgres_servers(settings.WORKHORSE_DATABASE)
        return redis_servers()

    def close(self) -> None:
        app.close()
