"""Claim, throughput, reads and pruning with a long history of finished jobs, against none.

Two schemas in one PostgreSQL database get the same backlog of queued jobs across --tenants
tenants; one of them also gets --finished succeeded jobs spread over the last --days days (the
retention's worth). Both are bulk-loaded in SQL (INSERT ... SELECT generate_series), not through
the API, then vacuumed and analyzed as autovacuum would leave them. Then, interleaved, --runs
rounds of:

- claims of 50 from the backlog (handed back after each, so the backlog stays put): p50 / p99;
- end to end: --drain no-op jobs enqueued in bulk and drained by 2 `workhorse worker` processes
  (`workhorse bench`'s throughput run, on its own queue);
- `list_jobs` as GET /v1/jobs and the dashboard read it: one tenant's newest 50, and the newest 50
  queued;
- the queue counts as GET /v1/queues and the dashboard's overview read them: every tenant's (an
  admin key) and one tenant's.

Finally, on the schema with the history, pruning as the scheduler's pruner does: ended jobs are
kept in a partition per UTC day, and the pruner drops the days wholly past the retention. Timed
twice: the oldest, partial, day, then the next, whole, day.

    python benchmarks/history.py --database-url postgresql://postgres@127.0.0.1/wh_bench
    python benchmarks/history.py --database-url … --finished 1000000 --backlog 100000

The database must exist; the script creates and drops the schemas wh_history_empty and
wh_history_full in it (--keep leaves them). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import psycopg

from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.bench import throughput
from workhorse.clock import utcnow
from workhorse.jobs import JobState
from workhorse.scheduling.pruner import prune

SCHEMAS = {"empty": "wh_history_empty", "history": "wh_history_full"}

BACKLOG_SQL = """
INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, max_attempts,
                            created_at, run_at, updated_at)
SELECT 'tenant-' || lpad((g %% %(tenants)s)::text, 6, '0'), 'backlog', 'noop', '[]', '{}',
       'queued', 3, now(), now(), now()
FROM generate_series(1, %(count)s) AS g
"""

HISTORY_SQL = """
INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, attempts, max_attempts,
                            created_at, run_at, updated_at, started_at, finished_at, result,
                            ended_on)
SELECT 'tenant-' || lpad((g %% %(tenants)s)::text, 6, '0'), 'history', 'noop', '[]', '{}',
       'succeeded', 1, 3, t, t, t, t, t, 'null', (t AT TIME ZONE 'UTC')::date
FROM generate_series(1, %(count)s) AS g,
     LATERAL (SELECT now() - make_interval(
                  secs => %(span)s * (1 - (g + %(first)s)::float8 / %(total)s)) AS t) AS at
"""

DAYS_SQL = """
SELECT workhorse_jobs_prepare_day(d::date)
FROM generate_series(workhorse_ended_on(now() - make_interval(days => %(days)s)),
                     workhorse_ended_on(now()) + 2, interval '1 day') AS d
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--finished", type=int, default=10_000_000)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--drain", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200, help="claims timed per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the schemas in place")
    args = parser.parse_args()
    urls = {kind: _schema_url(args.database_url, schema) for kind, schema in SCHEMAS.items()}
    try:
        report = measure(args, urls)
    finally:
        if not args.keep:
            _drop_schemas(args.database_url)
    print(json.dumps(report, indent=2))


def measure(args: argparse.Namespace, urls: dict[str, str]) -> dict[str, Any]:
    report: dict[str, Any] = {"finished": args.finished, "backlog": args.backlog,
                              "tenants": args.tenants, "load_s": {}}  # fmt: skip
    for kind, url in urls.items():
        finished = args.finished if kind == "history" else 0
        report["load_s"][kind] = load(args.database_url, SCHEMAS[kind], url, args, finished)
    report["sizes"] = {kind: _size(url) for kind, url in urls.items()}
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in urls}
    for _ in range(args.runs):
        for kind, url in urls.items():
            runs[kind].append(one_run(url, args))
            _log(f"{kind}: {runs[kind][-1]}")
    report["runs"] = runs
    report["medians"] = {kind: _medians(results) for kind, results in runs.items()}
    report["ratios"] = _ratios(report["medians"])
    report["prune_day"] = prune_day(urls["history"], args.days)
    return report


def load(server_url: str, schema: str, url: str, args: argparse.Namespace, finished: int) -> float:
    """A fresh schema with the backlog and ``finished`` jobs, vacuumed: seconds taken."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    backend = open_backend(url, auto_migrate=True)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        # the days' partitions, as the pruner would have created them over the days
        conn.execute(DAYS_SQL, {"days": args.days})
        params = {"tenants": args.tenants, "span": args.days * 86400.0}
        step = 1_000_000  # in slices, so one statement's WAL and memory stay bounded
        for first in range(0, finished, step):
            count = min(step, finished - first)
            slice_ = {**params, "count": count, "first": first, "total": finished}
            conn.execute(HISTORY_SQL, slice_)
            _log(f"{schema}: {first + count:,} of {finished:,} finished jobs loaded")
        # The backlog after the history, as in life: queued jobs are newer than finished ones.
        conn.execute(BACKLOG_SQL, {**params, "count": args.backlog})
        # The jobs were inserted ended, which no trigger counts (Workhorse inserts them live).
        conn.execute("SELECT workhorse_job_totals_recount()")
    backend.storage_vacuum()
    backend.close()
    return round(time.perf_counter() - started, 1)


def one_run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    backend = open_backend(url)
    _time_claims(backend, 20)  # warm caches and prepared statements
    claims = sorted(_time_claims(backend, args.rounds))
    reads = {
        "tenant_newest_ms": _time_reads(backend, b.JobListParams(tenant="tenant-000007")),
        "queued_newest_ms": _time_reads(backend, b.JobListParams(states=[JobState.QUEUED])),
        "counts_all_ms": _time_counts(backend, b.JobCountParams()),
        "counts_tenant_ms": _time_counts(backend, b.JobCountParams(tenant="tenant-000007")),
    }
    backend.close()
    drained = throughput.run_once(url, jobs=args.drain, workers=2, concurrency=50, job_ms=0)
    return {
        "claim_ms_p50": round(_pct(claims, 50), 2),
        "claim_ms_p99": round(_pct(claims, 99), 2),
        "throughput_per_s": round(drained.throughput_per_s),
        "lost": drained.lost,
        **{key: round(value, 2) for key, value in reads.items()},
    }


def _time_claims(backend: b.Backend, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        token = uuid.uuid4().hex
        params = b.JobClaimParams(worker_id="bench", queues=["backlog"], limit=50,
                                  lease_token=token, lease_for=timedelta(seconds=30),
                                  now=utcnow())  # fmt: skip
        started = time.perf_counter()
        claimed = backend.job_claim(params)
        timings.append((time.perf_counter() - started) * 1000)
        ids = [job.id for job in claimed]
        tokens = dict.fromkeys(ids, token)
        backend.job_release(b.JobReleaseParams(ids=ids, lease_token_by_id=tokens, now=utcnow()))
    return timings


def _time_reads(backend: b.Backend, params: b.JobListParams) -> float:
    """Median milliseconds of 20 reads of the newest 50 jobs matching ``params``."""
    newest = b.JobListParams(tenant=params.tenant, states=params.states, limit=50)
    return _median_ms(lambda: backend.job_list(newest), 20)


def _time_counts(backend: b.Backend, params: b.JobCountParams) -> float:
    """Median milliseconds of 5 reads of the job counts by tenant, queue and state."""
    return _median_ms(lambda: backend.job_count(params), 5)


def _median_ms(call: Callable[[], object], times: int) -> float:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def prune_day(url: str, days: int) -> dict[str, Any]:
    """Prune as the pruner does, twice: with a retention of ``days - 1`` days, which takes the
    oldest (partial) day of the history, then of ``days - 2``, which takes the next, whole, day;
    how many jobs and how long, each time."""
    backend = open_backend(url)
    report = {}
    for name, retention in (("partial_day", days - 1), ("whole_day", days - 2)):
        started = time.perf_counter()
        deleted = prune(backend, utcnow(), timedelta(days=retention))
        seconds = time.perf_counter() - started
        report[name] = {"deleted": deleted, "seconds": round(seconds, 3)}
    backend.close()
    return report


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _medians(results: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def _ratios(medians: dict[str, dict[str, float]]) -> dict[str, float]:
    """history ÷ empty for each figure."""
    full, empty = medians["history"], medians["empty"]
    return {key: round(full[key] / empty[key], 2) for key in full if empty[key]}


def _size(url: str) -> dict[str, str]:
    """Tables and indexes of every partition of workhorse_jobs, and of the live one alone."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT pg_size_pretty(sum(pg_table_size(relid))),
                   pg_size_pretty(sum(pg_indexes_size(relid))),
                   pg_size_pretty(pg_table_size('workhorse_jobs_live')),
                   pg_size_pretty(pg_indexes_size('workhorse_jobs_live'))
            FROM pg_partition_tree('workhorse_jobs')
            """
        ).fetchone()
    assert row is not None
    return {"table": row[0], "indexes": row[1], "live_table": row[2], "live_indexes": row[3]}


def _schema_url(server_url: str, schema: str) -> str:
    separator = "&" if "?" in server_url else "?"
    return f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"


def _drop_schemas(server_url: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        for schema in SCHEMAS.values():
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _log(message: str) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {message}", flush=True, file=sys.stderr)


if __name__ == "__main__":
    main()
