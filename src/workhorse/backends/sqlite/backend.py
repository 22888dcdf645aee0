"""The embedded SQLite backend: the zero-set-up default for one machine.

Limits, stated plainly:

- One writer at a time. Every write takes SQLite's database lock (``BEGIN IMMEDIATE``), so claims,
  completions and enqueues from all processes are serialised; batching keeps that cheap, but
  throughput is bounded by one core's worth of commits.
- No ``SKIP LOCKED`` and no LISTEN/NOTIFY: claims are exclusive because the write lock is, and idle
  workers find new jobs by polling (a cheap read that takes no lock).
- One machine only. WAL mode needs shared memory, so the file must not live on a network share.
- Durability: ``synchronous=NORMAL`` by default survives the crash of any process (a committed
  enqueue is never lost); an OS crash or power cut may lose the last commits. Add
  ``?synchronous=full`` to the URL to fsync every commit.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson

from workhorse.backends import base
from workhorse.backends.claiming import claim
from workhorse.backends.sql import load_blocks, load_migrations
from workhorse.backends.sqlite.api_ops import SQLiteApiOps
from workhorse.backends.sqlite.claims import SQLiteClaims
from workhorse.backends.sqlite.dashboard_ops import SQLiteDashboardOps
from workhorse.backends.sqlite.listener import SQLiteListener
from workhorse.backends.sqlite.metrics_ops import SQLiteMetricsOps
from workhorse.clock import at_epoch, from_epoch, to_epoch, utcnow
from workhorse.errors import (
    ConfigurationError,
    DatabaseError,
    InvalidTransitionError,
    QuotaExceededError,
    SchemaError,
)
from workhorse.fairness import MEAN_COST_WEIGHT, decayed
from workhorse.jobs import AttemptError, Job, JobState
from workhorse.serialization import loads
from workhorse.tenants import Tenant, TenantStats
from workhorse.types import JSON

_Q = load_blocks("workhorse.backends.sqlite", "queries.sql")
_SYNCHRONOUS = {"off", "normal", "full", "extra"}


class SQLiteBackend(SQLiteApiOps, SQLiteDashboardOps, SQLiteMetricsOps):
    """A Backend over one SQLite file, shared safely by threads and processes."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.path, self._synchronous, self._busy_timeout = _parse_url(url)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        if auto_migrate:
            self.migrate()
        else:
            self._check_readable()

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise DatabaseError("the backend is closed")
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            self._enable_wal(conn)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. SQLite does not apply the busy timeout to this pragma, so while another
        connection writes to a file not yet in WAL mode, retry until ``busy_timeout``."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the lock up front so it cannot deadlock."""
        conn = self._conn()
        try:
            self._begin(conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot (WAL), without the write lock."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        finally:
            conn.execute("COMMIT")

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retried every few milliseconds while another process writes.

        SQLite's own busy handler backs off to 100 ms sleeps, so under steady contention a
        waiting writer (an enqueue among busy workers) keeps losing the lock to writers that
        retry sooner; short jittered sleeps keep the wait close to the time the lock is held.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.0005
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 1.5, 0.005)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    def _read(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        try:
            return self._conn().execute(_Q[name], params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def listener(self, queues: Sequence[str]) -> SQLiteListener:
        """Commits by other connections, seen through ``PRAGMA data_version``."""
        return SQLiteListener(self.path)

    # -- schema ------------------------------------------------------------------------------

    def _check_readable(self) -> None:
        self.schema_version()

    def storage_vacuum(self) -> None:
        with self._write() as conn:
            conn.execute(_Q["storage_vacuum"])

    def schema_version(self) -> int:
        if not self._read("schema_has_migrations", {})[0]["present"]:
            return 0
        versions = [row[0] for row in self._read("schema_versions", {})]
        return max(versions, default=0)

    def migrate(self) -> list[int]:
        migrations = load_migrations("workhorse.backends.sqlite.migrations")
        newest = migrations[-1][0] if migrations else 0
        applied: list[int] = []
        with self._write() as conn:
            conn.execute(_Q["schema_create_migrations"])
            done = {row[0] for row in conn.execute(_Q["schema_versions"])}
            if done and max(done) > newest:
                raise SchemaError(
                    f"{self.path} has schema version {max(done)}, newer than this Workhorse "
                    f"({newest}); upgrade Workhorse"
                )
            for version, name, sql in migrations:
                if version in done:
                    continue
                _run_script(conn, sql)
                conn.execute(
                    _Q["schema_record_migration"],
                    {"version": version, "name": name, "now": to_epoch(utcnow())},
                )
                applied.append(version)
        return applied

    # -- jobs --------------------------------------------------------------------------------

    def job_insert_many(self, params: base.JobInsertManyParams) -> list[base.InsertedJob]:
        if params.connection is not None:
            raise ConfigurationError("transactional enqueue needs the PostgreSQL backend")
        with self._write() as conn:
            return self._insert_in(conn, params.jobs, to_epoch(params.now))

    def _insert_in(
        self, conn: sqlite3.Connection, jobs: Sequence[base.NewJob], now: float
    ) -> list[base.InsertedJob]:
        """Insert jobs in the caller's write transaction (job_insert_many, idempotency_insert)."""
        _check_max_queued(conn, jobs)
        return [_insert_one(conn, job, now) for job in jobs]

    def job_claim(self, params: base.JobClaimParams) -> list[base.ClaimedJob]:
        with self._write() as conn:
            return claim(SQLiteClaims(conn), params)

    def job_poll(self, params: base.JobPollParams) -> bool:
        query = {
            "queues": json.dumps(list(params.queues)),
            "include_queued": int(params.include_queued),
            "include_retrying": int(params.include_retrying),
        }
        return bool(self._read("job_poll", query))

    def job_finish_many(self, params: base.JobFinishManyParams) -> list[int]:
        now = to_epoch(params.now)
        run_times: dict[str, list[float]] = {}
        query = {
            "outcomes": orjson.dumps([_outcome_row(o, now) for o in params.outcomes]).decode(),
            "only_expired": int(params.only_expired),
            "now": now,
        }
        with self._write() as conn:
            rows = conn.execute(_Q["job_finish_many"], query).fetchall()
            for row in rows:
                run_times.setdefault(row["tenant"], []).append(now - (row["started_at"] or now))
            _add_usage(conn, run_times, now, params.usage_window.total_seconds())
        return sorted(row["id"] for row in rows)

    def job_heartbeat(self, params: base.JobHeartbeatParams) -> list[int]:
        now = to_epoch(params.now)
        with self._write() as conn:
            rows = conn.execute(
                _Q["job_heartbeat"],
                {
                    "worker_id": params.worker_id,
                    "lease_expires_at": now + params.lease_for.total_seconds(),
                    "now": now,
                },
            ).fetchall()
        return sorted(row[0] for row in rows)

    def job_release(self, params: base.JobReleaseParams) -> list[int]:
        now = to_epoch(params.now)
        released = []
        with self._write() as conn:
            for job_id in params.ids:
                token = params.lease_token_by_id.get(job_id)
                cursor = conn.execute(
                    _Q["job_release"], {"id": job_id, "lease_token": token, "now": now}
                )
                if cursor.rowcount:
                    released.append(job_id)
        return released

    def job_list_expired(self, params: base.JobListExpiredParams) -> list[base.ExpiredJob]:
        rows = self._read("job_list_expired", {"now": to_epoch(params.now), "limit": params.limit})
        return [
            base.ExpiredJob(
                id=row["id"],
                task=row["task"],
                attempt=row["attempts"],
                max_attempts=row["max_attempts"],
                lease_token=row["lease_token"],
                worker_id=row["worker_id"],
            )
            for row in rows
        ]

    def job_promote(self, params: base.JobPromoteParams) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                _Q["job_promote"], {"now": to_epoch(params.now), "limit": params.limit}
            )
        return cursor.rowcount

    def job_get(self, params: base.JobGetParams) -> Job | None:
        rows = self._read("job_get", {"id": params.id, "tenant": params.tenant})
        return _job(rows[0]) if rows else None

    def job_list(self, params: base.JobListParams) -> list[Job]:
        rows = self._read(
            "job_list",
            {
                "tenant": params.tenant,
                "states": json.dumps([str(s) for s in params.states]) if params.states else None,
                "queue": params.queue,
                "task": params.task,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return [_job(row) for row in rows]

    def job_cancel(self, params: base.JobCancelParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": to_epoch(params.now)}
        with self._write() as conn:
            changed = conn.execute(_Q["job_cancel"], query).rowcount > 0
            rows = conn.execute(_Q["job_get"], query).fetchall()
        return base.JobChange(job=_job(rows[0]), changed=changed) if rows else None

    def job_retry(self, params: base.JobRetryParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": to_epoch(params.now)}
        with self._write() as conn:
            try:
                changed = conn.execute(_Q["job_retry"], query).rowcount > 0
            except sqlite3.IntegrityError:
                raise InvalidTransitionError(
                    f"job {params.id} cannot be retried: a live job has the same unique key"
                ) from None
            rows = conn.execute(_Q["job_get"], query).fetchall()
        return base.JobChange(job=_job(rows[0]), changed=changed) if rows else None

    def job_progress(self, params: base.JobProgressParams) -> None:
        now = to_epoch(params.now)
        with self._write() as conn:
            for job_id, progress in params.progress_json_by_id.items():
                conn.execute(
                    _Q["job_progress"],
                    {
                        "id": job_id,
                        "progress": progress,
                        "lease_token": params.lease_token_by_id.get(job_id),
                        "now": now,
                    },
                )

    def job_count(self, params: base.JobCountParams) -> list[base.QueueCount]:
        rows = self._read("job_count", {"tenant": params.tenant})
        return [
            base.QueueCount(
                tenant=row["tenant"],
                queue=row["queue"],
                state=JobState(row["state"]),
                count=row["count"],
            )
            for row in rows
        ]

    def job_prune(self, params: base.JobPruneParams) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                _Q["job_prune"],
                {"finished_before": to_epoch(params.finished_before), "limit": params.limit},
            )
        return cursor.rowcount

    # -- tenants -----------------------------------------------------------------------------

    def tenant_upsert(self, params: base.TenantUpsertParams) -> Tenant:
        tenant = params.tenant
        query = {
            "name": tenant.name,
            "weight": tenant.weight,
            "max_running": tenant.max_running,
            "max_queued": tenant.max_queued,
            "rate": tenant.rate,
            "burst": tenant.burst,
            "paused": int(tenant.paused),
            "now": to_epoch(params.now),
        }
        with self._write() as conn:
            conn.execute(_Q["tenant_upsert"], query)
            row = conn.execute(_Q["tenant_get"], {"name": tenant.name}).fetchone()
        return _tenant(row)

    def tenant_get(self, params: base.TenantGetParams) -> Tenant | None:
        rows = self._read("tenant_get", {"name": params.name})
        return _tenant(rows[0]) if rows else None

    def tenant_list(self, params: base.TenantListParams) -> list[Tenant]:
        return [_tenant(row) for row in self._read("tenant_list", {})]

    def tenant_stats(self, params: base.TenantStatsParams) -> list[TenantStats]:
        now = to_epoch(params.now)
        with self._snapshot() as conn:  # one snapshot for both reads
            configured = {r["name"]: r for r in conn.execute(_Q["tenant_list"])}
            counts = {r["tenant"]: r for r in conn.execute(_Q["tenant_stats"], {"since": now - 60})}
        return [
            _stats(name, configured.get(name), counts.get(name), params)
            for name in sorted(configured.keys() | counts.keys())
        ]

    # -- periodic schedules ------------------------------------------------------------------

    def periodic_list(self, params: base.PeriodicListParams) -> dict[str, datetime]:
        return {row["name"]: at_epoch(row["last_slot"]) for row in self._read("periodic_list", {})}

    def periodic_fire(self, params: base.PeriodicFireParams) -> base.InsertedJob | None:
        now = to_epoch(params.now)
        query = {"name": params.name, "slot": to_epoch(params.slot), "now": now}
        with self._write() as conn:
            if params.job is None:
                conn.execute(_Q["periodic_init"], query)
                return None
            if conn.execute(_Q["periodic_fire"], query).rowcount == 0:
                return None
            return _insert_one(conn, params.job, now)

    # -- leadership and the worker registry --------------------------------------------------

    def leader_elect(self, params: base.LeaderElectParams) -> bool:
        now = to_epoch(params.now)
        with self._write() as conn:
            conn.execute(
                _Q["leader_elect"],
                {
                    "name": params.name,
                    "holder": params.holder,
                    "expires_at": now + params.ttl.total_seconds(),
                    "now": now,
                },
            )
            row = conn.execute(_Q["leader_holder"], {"name": params.name}).fetchone()
        return row is not None and row[0] == params.holder

    def leader_resign(self, params: base.LeaderResignParams) -> None:
        with self._write() as conn:
            conn.execute(_Q["leader_resign"], {"name": params.name, "holder": params.holder})

    def worker_heartbeat(self, params: base.WorkerHeartbeatParams) -> None:
        with self._write() as conn:
            conn.execute(
                _Q["worker_heartbeat"],
                {
                    "id": params.id,
                    "host": params.host,
                    "pid": params.pid,
                    "queues": json.dumps(list(params.queues)),
                    "concurrency": params.concurrency,
                    "started_at": to_epoch(params.started_at),
                    "now": to_epoch(params.now),
                },
            )

    def worker_list(self, params: base.WorkerListParams) -> list[base.WorkerInfo]:
        seen_after = None if params.seen_after is None else to_epoch(params.seen_after)
        rows = self._read("worker_list", {"seen_after": seen_after})
        return [_worker(row) for row in rows]

    def worker_delete(self, params: base.WorkerDeleteParams) -> int:
        seen_before = None if params.seen_before is None else to_epoch(params.seen_before)
        with self._write() as conn:
            cursor = conn.execute(
                _Q["worker_delete"], {"id": params.id, "seen_before": seen_before}
            )
        return cursor.rowcount


# -- helpers ---------------------------------------------------------------------------------


def _parse_url(url: str) -> tuple[str, str, float]:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(f"not a sqlite URL: {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.netloc or not path:
        raise ConfigurationError(
            f"bad SQLite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    if path == ":memory:":
        raise ConfigurationError(
            "sqlite:///:memory: cannot be shared by workers; use a file such as sqlite:///./jobs.db"
        )
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    synchronous = query.pop("synchronous", "normal").lower()
    if synchronous not in _SYNCHRONOUS:
        raise ConfigurationError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}")
    try:
        busy_timeout = float(query.pop("busy_timeout", "30"))
    except ValueError:
        raise ConfigurationError("busy_timeout must be a number of seconds") from None
    if query:
        raise ConfigurationError(f"unknown SQLite URL options: {sorted(query)}")
    return path, synchronous, busy_timeout


def _translate(exc: sqlite3.DatabaseError, path: str) -> DatabaseError:
    message = str(exc)
    if "file is not a database" in message or "malformed" in message:
        return SchemaError(f"{path} is not a Workhorse SQLite database ({message})")
    if "unable to open" in message:
        parent = Path(path).parent
        hint = f" (directory {parent} does not exist)" if not parent.exists() else ""
        return DatabaseError(f"cannot open SQLite database {path}{hint}")
    if "no such table" in message:
        return SchemaError(f"{path} has no Workhorse schema; run `workhorse migrate`")
    return DatabaseError(f"SQLite error on {path}: {message}")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a migration's statements inside the caller's transaction (executescript would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip() and not statement.strip().startswith("--"):
        raise SchemaError(f"incomplete SQL statement in migration: {statement.strip()[:80]}")


def _check_max_queued(conn: sqlite3.Connection, jobs: Sequence[base.NewJob]) -> None:
    """Refuse the whole batch if it would take a tenant past its ``max_queued``."""
    adding: dict[str, int] = {}
    for job in jobs:
        adding[job.tenant] = adding.get(job.tenant, 0) + 1
    limited = conn.execute(_Q["tenant_lock_quota"], {"names": json.dumps(sorted(adding))})
    for row in limited.fetchall():
        tenant, count = row["name"], adding[row["name"]]
        waiting = conn.execute(_Q["tenant_waiting"], {"tenant": tenant}).fetchone()[0]
        if waiting + count > row["max_queued"]:
            raise QuotaExceededError(
                f"tenant {tenant!r} has {waiting} waiting job(s); max_queued is "
                f"{row['max_queued']}, so {count} more cannot be enqueued"
            )


def _insert_one(conn: sqlite3.Connection, job: base.NewJob, now: float) -> base.InsertedJob:
    values = {
        "tenant": job.tenant,
        "queue": job.queue,
        "task": job.task,
        "args": job.args_json,
        "kwargs": job.kwargs_json,
        "state": str(job.state),
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "timeout": job.timeout,
        "unique_key": job.unique_key,
        "concurrency_key": job.concurrency_key,
        "concurrency_limit": job.concurrency_limit,
        "run_at": to_epoch(job.run_at),
        "now": now,
        "trace_context": job.trace_context,
    }
    row = conn.execute(_Q["job_insert"], values).fetchone()
    if row is not None:
        return base.InsertedJob(id=row[0], created=True)
    existing = conn.execute(_Q["job_find_live_unique"], values).fetchone()
    if existing is None:  # pragma: no cover - the write lock makes this unreachable
        raise DatabaseError("insert conflicted but no live job holds the unique key")
    return base.InsertedJob(id=existing[0], created=False)


def _add_usage(
    conn: sqlite3.Connection, run_times: dict[str, list[float]], now: float, window: float
) -> None:
    """Add finished attempts' run time to their tenants' decayed usage (tenants in name order)."""
    for tenant in sorted(run_times):
        seconds = [max(0.0, value) for value in run_times[tenant]]
        query = {
            "name": tenant,
            "seconds": sum(seconds),
            "mean": sum(seconds) / len(seconds),
            "window": window,
            "cost_weight": MEAN_COST_WEIGHT,
            "now": now,
        }
        conn.execute(_Q["tenant_add_usage"], query)


def _outcome_row(outcome: base.Outcome, now: float) -> list[Any]:
    error = None
    if outcome.error is not None:
        error = orjson.dumps(
            {
                "attempt": outcome.attempt,
                "type": outcome.error.type,
                "message": outcome.error.message,
                "traceback": outcome.error.traceback,
                "at": now,
            }
        ).decode()
    return [
        outcome.id,
        outcome.lease_token,
        outcome.state.value,
        outcome.result_json,
        error,
        None if outcome.run_at is None else to_epoch(outcome.run_at),
    ]


def _errors(text: str) -> list[AttemptError]:
    return [
        AttemptError(
            attempt=item["attempt"],
            type=item["type"],
            message=item["message"],
            traceback=item.get("traceback"),
            at=at_epoch(item["at"]),
        )
        for item in json.loads(text)
    ]


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=cast("list[JSON]", loads(row["args"])),
        kwargs=cast("dict[str, JSON]", loads(row["kwargs"])),
        state=JobState(row["state"]),
        priority=row["priority"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        unique_key=row["unique_key"],
        concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"],
        result=loads(row["result"]),
        errors=_errors(row["errors"]),
        progress=loads(row["progress"]),
        worker_id=row["worker_id"],
        created_at=at_epoch(row["created_at"]),
        run_at=at_epoch(row["run_at"]),
        started_at=from_epoch(row["started_at"]),
        finished_at=from_epoch(row["finished_at"]),
        lease_expires_at=from_epoch(row["lease_expires_at"]),
    )


def _tenant(row: sqlite3.Row) -> Tenant:
    return Tenant(
        name=row["name"],
        weight=row["weight"],
        max_running=row["max_running"],
        max_queued=row["max_queued"],
        rate=row["rate"],
        burst=row["burst"],
        paused=bool(row["paused"]),
        created_at=at_epoch(row["created_at"]),
        updated_at=at_epoch(row["updated_at"]),
    )


def _stats(
    name: str,
    row: sqlite3.Row | None,
    counts: sqlite3.Row | None,
    params: base.TenantStatsParams,
) -> TenantStats:
    usage = 0.0
    if row is not None:
        usage = decayed(row["usage"], params.now - at_epoch(row["usage_at"]), params.usage_window)
    return TenantStats(
        tenant=_tenant(row) if row is not None else Tenant(name=name),
        running=int(counts["running"]) if counts else 0,
        waiting=int(counts["waiting"]) if counts else 0,
        started_last_minute=int(counts["started"]) if counts else 0,
        usage=usage,
    )


def _worker(row: sqlite3.Row) -> base.WorkerInfo:
    return base.WorkerInfo(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        queues=json.loads(row["queues"]),
        concurrency=row["concurrency"],
        started_at=at_epoch(row["started_at"]),
        last_seen_at=at_epoch(row["last_seen_at"]),
    )
