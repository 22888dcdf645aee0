"""Where the peers keep their state: one Redis database and dedicated PostgreSQL databases.

The runner passes its options to the worker processes through these environment variables, so
every process of a run talks to the same broker.
"""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6379/15")
"""A Redis database of its own: each run flushes it (and nothing else)."""

POSTGRES_URL = os.environ.get("PEERS_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
"""The PostgreSQL server, without a database name."""

QUEUE = "peers-bench"

PGBENCH_DATABASE = "peers_bench"
PROCRASTINATE_DATABASE = "peers_bench_procrastinate"
WORKHORSE_DATABASE = "peers_bench_workhorse"

ENQUEUE_BATCH = 1000
"""Jobs per bulk call, as `workhorse bench` enqueues them."""


def database_url(name: str) -> str:
    return f"{POSTGRES_URL.rstrip('/')}/{name}"


def export(redis_url: str, postgres_url: str) -> None:
    """Make these the settings of this process and of every process it starts."""
    global REDIS_URL, POSTGRES_URL
    REDIS_URL = os.environ["PEERS_REDIS_URL"] = redis_url
    POSTGRES_URL = os.environ["PEERS_POSTGRES_URL"] = postgres_url
