"""Procrastinate on PostgreSQL: P `procrastinate worker --concurrency C` processes (asyncio).

Defaults kept: a job is fetched with `FOR UPDATE SKIP LOCKED` and moved to `doing`, its outcome
written when it ends (a crashed worker's jobs stay `doing` until its heartbeat expires and they
are retried on request); LISTEN/NOTIFY wake-ups; finished jobs kept. Completion is read from
Procrastinate's own state: the job statuses and the `started` / `succeeded` events.
"""

from __future__ import annotations

import procrastinate
import psycopg

import pg
import settings
from measure import timed_loop
from processes import python

DATABASE = settings.PROCRASTINATE_DATABASE

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=settings.database_url(DATABASE))
)


@app.task(name="noop", queue=settings.QUEUE)
async def noop() -> None:
    """Does nothing."""


class ProcrastinatePeer:
    name = "procrastinate"
    distribution = "procrastinate"

    def __init__(self) -> None:
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def conn(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None:
            self._conn = psycopg.connect(settings.database_url(DATABASE), autocommit=True)
        return self._conn

    def describe(self, workers: int, concurrency: int) -> str:
        return f"{workers} × `procrastinate worker --concurrency {concurrency}`"

    def reset(self) -> None:
        self.close()
        pg.recreate_database(DATABASE)
        with app.open():
            app.schema_manager.apply_schema()

    def enqueue_bulk(self, jobs: int) -> None:
        with app.open():
            for offset in range(0, jobs, settings.ENQUEUE_BATCH):
                count = min(settings.ENQUEUE_BATCH, jobs - offset)
                noop.batch_defer(*({} for _ in range(count)))

    def enqueue_single(self, jobs: int) -> float:
        with app.open():
            return timed_loop(noop.defer, jobs)

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "procrastinate", "--app", "peer_procrastinate.app", "worker",
                "--concurrency", str(concurrency), "--name", f"peers{index}",
                "--queues", settings.QUEUE,
            )
            for index in range(workers)
        ]  # fmt: skip

    def done(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        ).fetchone()
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    def span_s(self) -> float:
        row = self.conn.execute(
            "SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'succeeded')"
            " - min(at) FILTER (WHERE type = 'started')) FROM procrastinate_events"
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else float("nan")  # type: ignore[arg-type]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
