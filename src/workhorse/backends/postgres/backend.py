"""The PostgreSQL backend: many workers on many machines, coordinating only through the database.

psycopg 3 (sync, with a connection pool): the Backend Protocol is synchronous, psycopg's COPY and
array adaptation make batches one round trip each, it speaks LISTEN/NOTIFY, and it is the driver
users' own code (and SQLAlchemy) most often hands us for transactional enqueue.

Claims use ``FOR UPDATE SKIP LOCKED`` over a partial index, so concurrent claimers never wait on
each other and never take the same row; every outcome is conditional on the claim's lease token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from workhorse.backends import base
from workhorse.backends.claiming import claim
from workhorse.backends.postgres.api_ops import PostgresApiOps
from workhorse.backends.postgres.claims import PostgresClaims
from workhorse.backends.postgres.dashboard_ops import PostgresDashboardOps
from workhorse.backends.postgres.listener import PostgresListener
from workhorse.backends.postgres.metrics_ops import PostgresMetricsOps
from workhorse.backends.sql import load_blocks, load_migrations
from workhorse.clock import require_aware, utcnow
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

_Q = load_blocks("workhorse.backends.postgres", "queries.sql")
_OPTIONS = {"pool_min", "pool_max", "pool_timeout"}

Row = dict[str, Any]
Conn = psycopg.Connection[Row]


class PostgresBackend(PostgresApiOps, PostgresDashboardOps, PostgresMetricsOps):
    """A Backend over one PostgreSQL database, safe for any number of processes and hosts."""

    def __init__(self, url: str, *, auto_migrate: bool = False) -> None:
        self.url = url
        self.conninfo, options = _parse_url(url)
        self._pool = ConnectionPool(
            self.conninfo,
            min_size=options["pool_min"],
            max_size=options["pool_max"],
            timeout=options["pool_timeout"],
            # Autocommit: a single statement is its own transaction, with no BEGIN and COMMIT
            # round trips; ``_tx`` opens a transaction where several statements need one.
            kwargs={"row_factory": dict_row, "connect_timeout": 5, "autocommit": True},
            configure=_configure,
            open=False,
            name="workhorse",
        )
        _probe(self.conninfo, url)
        try:
            self._pool.open(wait=True, timeout=options["pool_timeout"])
        except PoolTimeout:
            self._pool.close()
            raise DatabaseError(f"cannot connect to PostgreSQL at {_safe(url)}") from None
        self._lock = threading.Lock()
        if auto_migrate:
            self.migrate()
        else:
            self._check_schema()

    # -- connections -------------------------------------------------------------------------

    @contextmanager
    def _tx(self, connection: Any = None) -> Iterator[Conn]:
        """A transaction on a pooled connection, or on the caller's (never committed here)."""
        if connection is not None:
            yield _as_dict_conn(connection)
            return
        with self._autocommit() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _autocommit(self) -> Iterator[Conn]:
        """A pooled connection on which each statement is its own transaction (no BEGIN and
        COMMIT round trips); ``conn.transaction()`` opens one where needed. Database errors
        come out as Workhorse errors."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise DatabaseError(
                f"no PostgreSQL connection available at {_safe(self.url)}"
            ) from None
        except psycopg.errors.UndefinedTable as exc:
            what = exc.diag.message_primary or "a table is missing"
            raise SchemaError(f"no Workhorse schema ({what}); run `workhorse migrate`") from None
        except psycopg.DataError as exc:
            what = exc.diag.message_primary or type(exc).__name__
            raise ConfigurationError(f"PostgreSQL refused a value: {what}") from None
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseError(f"PostgreSQL error: {reason}") from None

    def _all(self, name: str, params: dict[str, Any]) -> list[Row]:
        with self._autocommit() as conn:
            return conn.execute(_Q[name], params).fetchall()

    def close(self) -> None:
        self._pool.close()

    def listener(self, queues: Sequence[str]) -> PostgresListener:
        """A LISTEN connection that wakes on new jobs in ``queues``."""
        return PostgresListener(self.conninfo, queues)

    # -- schema ------------------------------------------------------------------------------

    def _check_schema(self) -> None:
        newest = load_migrations("workhorse.backends.postgres.migrations")[-1][0]
        version = self.schema_version()
        if version > newest:
            raise SchemaError(
                f"database schema version {version} is newer than this Workhorse ({newest})"
            )

    def storage_vacuum(self) -> None:
        with self._autocommit() as conn:  # VACUUM cannot run inside a transaction
            conn.execute(_Q["storage_vacuum"])

    def schema_version(self) -> int:
        with self._tx() as conn:
            row = conn.execute(_Q["schema_has_migrations"]).fetchone()
            if row is None or not row["present"]:
                return 0
            rows = conn.execute(_Q["schema_versions"]).fetchall()
        return max((row["version"] for row in rows), default=0)

    def migrate(self) -> list[int]:
        migrations = load_migrations("workhorse.backends.postgres.migrations")
        newest = migrations[-1][0]
        applied: list[int] = []
        with self._tx() as conn:
            conn.execute(_Q["schema_lock"])
            conn.execute(_Q["schema_create_migrations"])
            done = {row["version"] for row in conn.execute(_Q["schema_versions"])}
            if done and max(done) > newest:
                raise SchemaError(
                    f"database schema version {max(done)} is newer than this Workhorse ({newest})"
                )
            for version, name, sql in migrations:
                if version in done:
                    continue
                conn.execute(sql.encode())
                conn.execute(
                    _Q["schema_record_migration"],
                    {"version": version, "name": name, "now": utcnow()},
                )
                applied.append(version)
        return applied

    # -- jobs --------------------------------------------------------------------------------

    def job_insert_many(self, params: base.JobInsertManyParams) -> list[base.InsertedJob]:
        require_aware(params.now)
        for job in params.jobs:
            require_aware(job.run_at)
        if not params.jobs:
            return []
        if params.connection is not None:
            with self._tx(params.connection) as conn:
                return _insert_many(conn, params.jobs, params.now)
        with self._autocommit() as conn:
            return _insert_many(conn, params.jobs, params.now)

    def job_claim(self, params: base.JobClaimParams) -> list[base.ClaimedJob]:
        with self._autocommit() as conn:
            return claim(PostgresClaims(conn), params)

    def job_poll(self, params: base.JobPollParams) -> bool:
        rows = self._all(
            "job_poll",
            {
                "queues": list(params.queues),
                "include_queued": params.include_queued,
                "include_retrying": params.include_retrying,
            },
        )
        return bool(rows[0]["exists"])

    def job_finish_many(self, params: base.JobFinishManyParams) -> list[int]:
        if not params.outcomes:
            return []
        outcomes = params.outcomes
        rows = self._all(
            "job_finish_many",
            {
                "outcomes": orjson.dumps([_outcome(o, params.now) for o in outcomes]).decode(),
                "only_expired": params.only_expired,
                "window": params.usage_window.total_seconds(),
                "cost_weight": MEAN_COST_WEIGHT,
                "now": params.now,
            },
        )
        return sorted(row["id"] for row in rows)

    def job_heartbeat(self, params: base.JobHeartbeatParams) -> list[int]:
        rows = self._all(
            "job_heartbeat",
            {
                "worker_id": params.worker_id,
                "lease_expires_at": params.now + params.lease_for,
                "now": params.now,
            },
        )
        return sorted(row["id"] for row in rows)

    def job_release(self, params: base.JobReleaseParams) -> list[int]:
        ids = list(params.ids)
        with self._tx() as conn:
            rows = conn.execute(
                _Q["job_release"],
                {
                    "ids": ids,
                    "tokens": [params.lease_token_by_id.get(i) for i in ids],
                    "now": params.now,
                },
            ).fetchall()
            _notify(conn, {row["queue"] for row in rows})
        return sorted(row["id"] for row in rows)

    def job_list_expired(self, params: base.JobListExpiredParams) -> list[base.ExpiredJob]:
        rows = self._all("job_list_expired", {"now": params.now, "limit": params.limit})
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
        with self._tx() as conn:
            rows = conn.execute(
                _Q["job_promote"], {"now": params.now, "limit": params.limit}
            ).fetchall()
            _notify(conn, {row["queue"] for row in rows})
        return len(rows)

    def job_get(self, params: base.JobGetParams) -> Job | None:
        rows = self._all("job_get", {"id": params.id, "tenant": params.tenant})
        return _job(rows[0]) if rows else None

    def job_list(self, params: base.JobListParams) -> list[Job]:
        rows = self._all(
            "job_list",
            {
                "tenant": params.tenant,
                "states": [str(s) for s in params.states] if params.states else None,
                "queue": params.queue,
                "task": params.task,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return [_job(row) for row in rows]

    def job_cancel(self, params: base.JobCancelParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": params.now}
        with self._tx() as conn:
            changed = conn.execute(_Q["job_cancel"], query).rowcount > 0
            row = conn.execute(_Q["job_get"], query).fetchone()
        return base.JobChange(job=_job(row), changed=changed) if row else None

    def job_retry(self, params: base.JobRetryParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": params.now}
        with self._tx() as conn:
            try:
                rows = conn.execute(_Q["job_retry"], query).fetchall()
            except psycopg.errors.UniqueViolation:
                raise InvalidTransitionError(
                    f"job {params.id} cannot be retried: a live job has the same unique key"
                ) from None
            _notify(conn, {row["queue"] for row in rows})
            row = conn.execute(_Q["job_get"], query).fetchone()
        return base.JobChange(job=_job(row), changed=bool(rows)) if row else None

    def job_progress(self, params: base.JobProgressParams) -> None:
        ids = list(params.progress_json_by_id)
        with self._tx() as conn:
            conn.execute(
                _Q["job_progress"],
                {
                    "ids": ids,
                    "tokens": [params.lease_token_by_id.get(i) for i in ids],
                    "progress": [params.progress_json_by_id[i] for i in ids],
                    "now": params.now,
                },
            )

    def job_count(self, params: base.JobCountParams) -> list[base.QueueCount]:
        rows = self._all("job_count", {"tenant": params.tenant})
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
        with self._tx() as conn:
            cursor = conn.execute(
                _Q["job_prune"], {"finished_before": params.finished_before, "limit": params.limit}
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
            "paused": tenant.paused,
            "now": params.now,
        }
        return _tenant(self._all("tenant_upsert", query)[0])

    def tenant_get(self, params: base.TenantGetParams) -> Tenant | None:
        rows = self._all("tenant_get", {"name": params.name})
        return _tenant(rows[0]) if rows else None

    def tenant_list(self, params: base.TenantListParams) -> list[Tenant]:
        return [_tenant(row) for row in self._all("tenant_list", {})]

    def tenant_stats(self, params: base.TenantStatsParams) -> list[TenantStats]:
        since = params.now - timedelta(minutes=1)
        with self._tx() as conn:
            conn.execute(_Q["snapshot_begin"])  # one snapshot for both reads
            configured = {r["name"]: r for r in conn.execute(_Q["tenant_list"]).fetchall()}
            counts = {
                r["tenant"]: r
                for r in conn.execute(_Q["tenant_stats"], {"since": since}).fetchall()
            }
        return [
            _stats(name, configured.get(name), counts.get(name), params)
            for name in sorted(configured.keys() | counts.keys())
        ]

    # -- periodic schedules ------------------------------------------------------------------

    def periodic_list(self, params: base.PeriodicListParams) -> dict[str, datetime]:
        return {row["name"]: _utc(row["last_slot"]) for row in self._all("periodic_list", {})}

    def periodic_fire(self, params: base.PeriodicFireParams) -> base.InsertedJob | None:
        query = {"name": params.name, "slot": params.slot, "now": params.now}
        with self._tx() as conn:
            if params.job is None:
                conn.execute(_Q["periodic_init"], query)
                return None
            if conn.execute(_Q["periodic_fire"], query).rowcount == 0:
                return None
            return _insert_many(conn, [params.job], params.now)[0]

    # -- leadership and the worker registry --------------------------------------------------

    def leader_elect(self, params: base.LeaderElectParams) -> bool:
        rows = self._all(
            "leader_elect",
            {
                "name": params.name,
                "holder": params.holder,
                "expires_at": params.now + params.ttl,
                "now": params.now,
            },
        )
        return bool(rows) and rows[0]["holder"] == params.holder

    def leader_resign(self, params: base.LeaderResignParams) -> None:
        with self._tx() as conn:
            conn.execute(_Q["leader_resign"], {"name": params.name, "holder": params.holder})

    def worker_heartbeat(self, params: base.WorkerHeartbeatParams) -> None:
        with self._tx() as conn:
            conn.execute(
                _Q["worker_heartbeat"],
                {
                    "id": params.id,
                    "host": params.host,
                    "pid": params.pid,
                    "queues": json.dumps(list(params.queues)),
                    "concurrency": params.concurrency,
                    "started_at": params.started_at,
                    "now": params.now,
                },
            )

    def worker_list(self, params: base.WorkerListParams) -> list[base.WorkerInfo]:
        rows = self._all("worker_list", {"seen_after": params.seen_after})
        return [
            base.WorkerInfo(
                id=row["id"],
                host=row["host"],
                pid=row["pid"],
                queues=row["queues"],
                concurrency=row["concurrency"],
                started_at=_utc(row["started_at"]),
                last_seen_at=_utc(row["last_seen_at"]),
            )
            for row in rows
        ]

    def worker_delete(self, params: base.WorkerDeleteParams) -> int:
        with self._tx() as conn:
            cursor = conn.execute(
                _Q["worker_delete"], {"id": params.id, "seen_before": params.seen_before}
            )
        return cursor.rowcount


# -- helpers ---------------------------------------------------------------------------------


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    """Split Workhorse's own options (pool_min, pool_max, pool_timeout) off a libpq URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ConfigurationError(f"not a PostgreSQL URL: {_safe(url)}")
    query = parse_qs(parts.query)
    options: dict[str, Any] = {"pool_min": 1, "pool_max": 10, "pool_timeout": 10.0}
    try:
        for key in _OPTIONS & query.keys():
            options[key] = (float if key == "pool_timeout" else int)(query.pop(key)[-1])
    except ValueError:
        raise ConfigurationError(f"bad pool option in {_safe(url)}") from None
    if not 1 <= options["pool_min"] <= options["pool_max"]:
        raise ConfigurationError("need 1 <= pool_min <= pool_max")
    rest = urlencode([(k, v) for k, values in query.items() for v in values])
    return urlunsplit(("postgresql", parts.netloc, parts.path, rest, parts.fragment)), options


def _probe(conninfo: str, url: str) -> None:
    """Connect once, so an unreachable server is one clear error, not pool retries in the logs."""
    try:
        psycopg.connect(conninfo, connect_timeout=5).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to PostgreSQL at {_safe(url)}: {reason}") from None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _as_dict_conn(connection: Any) -> Conn:
    if not isinstance(connection, psycopg.Connection):
        raise ConfigurationError(
            "transactional enqueue needs a psycopg 3 Connection (for SQLAlchemy: "
            "session.connection().connection.driver_connection)"
        )
    conn: Conn = connection
    return conn


def _insert_many(conn: Conn, jobs: Sequence[base.NewJob], now: datetime) -> list[base.InsertedJob]:
    """Jobs without a unique key go in one statement (one round trip, its own transaction on an
    autocommit connection); a batch with unique keys or a tenant's ``max_queued`` to check takes
    a transaction (on the caller's connection: the caller's)."""
    with conn.cursor(row_factory=dict_row) as cur:
        if all(job.unique_key is None for job in jobs):
            ids = _insert_plain(cur, jobs, now, checked=False)
            if ids is not None:
                return [base.InsertedJob(id=job_id, created=True) for job_id in ids]
        with conn.transaction() if conn.autocommit else nullcontext():
            _check_max_queued(cur, jobs)
            plain = [job for job in jobs if job.unique_key is None]
            inserted = _insert_plain(cur, plain, now, checked=True) if plain else None
            new_ids = iter(inserted or [])
            results = [
                base.InsertedJob(id=next(new_ids), created=True)
                if job.unique_key is None
                else _insert_one(cur, job, now)
                for job in jobs
            ]
            woken = {
                job.queue
                for job, result in zip(jobs, results, strict=True)
                if job.unique_key is not None and result.created and job.state == JobState.QUEUED
            }
            _notify(cur, woken)
    return results


def _insert_plain(
    cur: psycopg.Cursor[Row], jobs: Sequence[base.NewJob], now: datetime, *, checked: bool
) -> list[int] | None:
    """Insert ``jobs`` (no unique keys) and wake their queues; their ids in order, or None when
    unchecked and a tenant of the batch has a ``max_queued`` (nothing was inserted)."""
    row = cur.execute(_Q["job_insert_plain"], _plain_query(jobs, now, checked)).fetchone()
    if row is None or row["limited"]:
        return None
    ids: list[int] = row["ids"]
    if len(ids) != len(jobs):
        raise DatabaseError(f"inserted {len(ids)} of {len(jobs)} jobs")
    return ids


def _plain_query(jobs: Sequence[base.NewJob], now: datetime, checked: bool) -> dict[str, Any]:
    rows = [
        {
            "tenant": job.tenant,
            "queue": job.queue,
            "task": job.task,
            "args": orjson.Fragment(job.args_json),
            "kwargs": orjson.Fragment(job.kwargs_json),
            "state": job.state.value,
            "priority": job.priority,
            "max_attempts": job.max_attempts,
            "timeout": job.timeout,
            "concurrency_key": job.concurrency_key,
            "concurrency_limit": job.concurrency_limit,
            "run_at": job.run_at,
            "trace_context": job.trace_context,
        }
        for job in jobs
    ]
    return {
        "jobs": orjson.dumps(rows).decode(),
        "tenants": sorted({job.tenant for job in jobs}),
        "checked": checked,
        "now": now,
    }


def _insert_one(cur: psycopg.Cursor[Row], job: base.NewJob, now: datetime) -> base.InsertedJob:
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
        "run_at": job.run_at,
        "now": now,
        "trace_context": job.trace_context,
    }
    row = cur.execute(_Q["job_insert"], values).fetchone()
    if row is not None:
        return base.InsertedJob(id=row["id"], created=True)
    existing = cur.execute(_Q["job_find_live_unique"], values).fetchone()
    if existing is None:
        # The live job holding the key ended between our insert and select: insert again.
        return _insert_one(cur, job, now)
    return base.InsertedJob(id=existing["id"], created=False)


def _check_max_queued(cur: psycopg.Cursor[Row], jobs: Sequence[base.NewJob]) -> None:
    """Refuse the whole batch if it would take a tenant past its ``max_queued``."""
    adding: dict[str, int] = {}
    for job in jobs:
        adding[job.tenant] = adding.get(job.tenant, 0) + 1
    limited = cur.execute(_Q["tenant_lock_quota"], {"names": sorted(adding)}).fetchall()
    for row in limited:
        tenant, count = row["name"], adding[row["name"]]
        waiting = cur.execute(_Q["tenant_waiting"], {"tenant": tenant}).fetchone()
        have = waiting["count"] if waiting else 0
        if have + count > row["max_queued"]:
            raise QuotaExceededError(
                f"tenant {tenant!r} has {have} waiting job(s); max_queued is "
                f"{row['max_queued']}, so {count} more cannot be enqueued"
            )


def _notify(cur: Conn | psycopg.Cursor[Row], queues: set[str]) -> None:
    """Wake listening workers of these queues when the transaction commits."""
    if queues:
        cur.execute(_Q["job_notify"], {"queues": sorted(queues)})


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Decode json/jsonb columns with orjson (integers beyond 64 bits kept exact)."""
    set_json_loads(loads, conn)


def _outcome(outcome: base.Outcome, now: datetime) -> dict[str, Any]:
    """One element of job_finish_many's JSON array (result embedded as the JSON it already is)."""
    error = outcome.error
    return {
        "id": outcome.id,
        "token": outcome.lease_token,
        "state": outcome.state.value,
        "result": None if outcome.result_json is None else orjson.Fragment(outcome.result_json),
        "error": None
        if error is None
        else {
            "attempt": outcome.attempt,
            "type": error.type,
            "message": error.message,
            "traceback": error.traceback,
            "at": now.timestamp(),
        },
        "run_at": outcome.run_at,
    }


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _tenant(row: Row) -> Tenant:
    return Tenant(
        name=row["name"],
        weight=row["weight"],
        max_running=row["max_running"],
        max_queued=row["max_queued"],
        rate=row["rate"],
        burst=row["burst"],
        paused=row["paused"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def _stats(
    name: str, row: Row | None, counts: Row | None, params: base.TenantStatsParams
) -> TenantStats:
    usage = 0.0
    if row is not None:
        usage = decayed(row["usage"], params.now - row["usage_at"], params.usage_window)
    return TenantStats(
        tenant=_tenant(row) if row is not None else Tenant(name=name),
        running=counts["running"] if counts else 0,
        waiting=counts["waiting"] if counts else 0,
        started_last_minute=counts["started"] if counts else 0,
        usage=usage,
    )


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        tenant=row["tenant"],
        queue=row["queue"],
        task=row["task"],
        args=row["args"],
        kwargs=row["kwargs"],
        state=JobState(row["state"]),
        priority=row["priority"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        unique_key=row["unique_key"],
        concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"],
        result=row["result"],
        errors=[
            AttemptError(
                attempt=e["attempt"],
                type=e["type"],
                message=e["message"],
                traceback=e.get("traceback"),
                at=datetime.fromtimestamp(e["at"], UTC),
            )
            for e in row["errors"]
        ],
        progress=row["progress"],
        worker_id=row["worker_id"],
        created_at=_utc(row["created_at"]),
        run_at=_utc(row["run_at"]),
        started_at=_opt_utc(row["started_at"]),
        finished_at=_opt_utc(row["finished_at"]),
        lease_expires_at=_opt_utc(row["lease_expires_at"]),
    )
