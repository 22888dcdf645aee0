"""Claim cost against the size of the backlog and the number of tenants with work.

For each T in --tenants and N in --sizes, fills a fresh store with N queued jobs spread over T
tenants, then times `job_claim` (50 jobs,
the default worker concurrency) many times, handing the claimed jobs back after each claim so the
backlog stays the same size. Prints one JSON object per backlog size.

    python benchmarks/claim_cost.py --database-url postgresql://postgres@127.0.0.1/wh_claim \\
        --tenants 10,1000,10000,100000 --sizes 20000
    python benchmarks/claim_cost.py --tenants 1000 --sizes 10000,1000000      # SQLite
    python benchmarks/claim_cost.py --database-url … --tenants 10000 --sizes 1000000 \
        --rounds 3000 --windows 6 --places-vacuum-every 1000   # cost between vacuums

PostgreSQL: the database must exist; the script drops and recreates the Workhorse tables in it.
With --explain it also prints EXPLAIN ANALYZE of the two statements that walk the backlog.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import timedelta

from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.claiming import FRONT_START
from workhorse.backends.sql import load_blocks
from workhorse.clock import utcnow
from workhorse.jobs import JobState

BATCH = 10_000


def fill(backend: b.Backend, jobs: int, tenants: int) -> None:
    now = utcnow()
    for offset in range(0, jobs, BATCH):
        rows = [
            b.NewJob(
                tenant=f"tenant-{(offset + i) % tenants:06d}",
                queue="default",
                task="noop",
                args_json="[]",
                kwargs_json="{}",
                priority=0,
                run_at=now,
                state=JobState.QUEUED,
                max_attempts=3,
                timeout=None,
                unique_key=None,
            )
            for i in range(min(BATCH, jobs - offset))
        ]
        backend.job_insert_many(b.JobInsertManyParams(jobs=rows, now=now))


def time_claims(backend: b.Backend, rounds: int, limit: int, vacuum_every: int = 0) -> list[float]:
    """Claim ``rounds`` times; with ``vacuum_every``, call ``places_vacuum`` after every that many
    claims (untimed), as the maintenance leader does every few seconds."""
    timings = []
    for done in range(1, rounds + 1):
        token = uuid.uuid4().hex
        params = b.JobClaimParams(
            worker_id="bench",
            queues=["default"],
            limit=limit,
            lease_token=token,
            lease_for=timedelta(seconds=30),
            now=utcnow(),
        )
        started = time.perf_counter()
        claimed = backend.job_claim(params)
        timings.append((time.perf_counter() - started) * 1000)
        backend.job_release(
            b.JobReleaseParams(
                ids=[job.id for job in claimed],
                lease_token_by_id={job.id: token for job in claimed},
                now=utcnow(),
            )
        )
        if vacuum_every and done % vacuum_every == 0:
            backend.places_vacuum()
    return timings


def explain(url: str) -> None:
    import psycopg

    blocks = load_blocks("workhorse.backends.postgres", "queries.sql")
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE workhorse_jobs")
        now = utcnow()
        lease = {"lease_token": "explain", "worker_id": "explain", "lease_expires_at": now}
        for name, params in (
            (
                "claim_places",
                {
                    "queues": ["default"],
                    "front": 58,
                    "now": now,
                    "after_place": FRONT_START[0],
                    "after_tenant": FRONT_START[1],
                    "after_queue": FRONT_START[2],
                },
            ),
            (
                "claim_take",  # rolled back below: nothing stays claimed
                {
                    "tenants": ["tenant-000001"],
                    "limits": [58],
                    "slots": [50],
                    "queues": ["default"],
                    "blocked_tenants": [],
                    "blocked_keys": [],
                    "exclude": [],
                    "now": now,
                    **lease,
                },
            ),
        ):
            print(f"-- EXPLAIN ANALYZE {name}")
            for (line,) in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {blocks[name]}", params):
                print(line)
            conn.rollback()


def checkpoint(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def reset_postgres(url: str) -> None:
    """Drop every Workhorse table and function in the database, whatever migrations made."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename LIKE 'workhorse%'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND p.proname LIKE 'workhorse%'"
        ).fetchall()
        for (function,) in functions:
            conn.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--tenants", default="1000", help="comma-separated tenant counts")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--windows",
        type=int,
        default=1,
        help="also print the median of each of this many consecutive windows of the claims",
    )
    parser.add_argument(
        "--places-vacuum-every",
        type=int,
        default=0,
        metavar="CLAIMS",
        help="vacuum the places table after every this many claims (0: never)",
    )
    args = parser.parse_args()
    for tenants in (int(t) for t in args.tenants.split(",")):
        for size in (int(s) for s in args.sizes.split(",")):
            measure(args, tenants, size)


def measure(args: argparse.Namespace, tenants: int, size: int) -> None:
    """One fresh store of ``size`` jobs over ``tenants`` tenants; prints its claim timings."""
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/claims.db"
        if url.startswith("postgres"):
            reset_postgres(url)
        backend = open_backend(url, auto_migrate=True)
        started = time.perf_counter()
        fill(backend, size, tenants)
        fill_s = time.perf_counter() - started
        backend.storage_vacuum()  # as autovacuum leaves a table after a bulk load
        if url.startswith("postgres"):
            checkpoint(url)  # the load's writes are flushed now, not during the claims timed
        time_claims(backend, 20, args.limit)  # warm caches and prepared statements
        timings = time_claims(backend, args.rounds, args.limit, args.places_vacuum_every)
        backend.close()
        result = {
            "backend": url.split(":", 1)[0],
            "queued": size,
            "tenants": tenants,
            "claim_limit": args.limit,
            "claim_ms_p50": round(statistics.median(timings), 3),
            "claim_ms_p95": round(statistics.quantiles(timings, n=20)[18], 3),
            "fill_s": round(fill_s, 1),
        }
        if args.windows > 1:
            size = len(timings) // args.windows
            windows = [timings[i * size : (i + 1) * size] for i in range(args.windows)]
            result["claim_ms_p50_by_window"] = [round(statistics.median(w), 3) for w in windows]
        if args.places_vacuum_every:
            result["places_vacuum_every"] = args.places_vacuum_every
        print(json.dumps(result), flush=True)
        if args.explain and url.startswith("postgres"):
            explain(url)


if __name__ == "__main__":
    main()
