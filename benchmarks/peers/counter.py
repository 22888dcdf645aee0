"""The completion record every system's job writes: the same work for all of them.

Each job takes one argument, its sequence number, notes the time it started, and ends by writing
one record to Redis in one pipeline round trip: ``HSET peers:jobs <seq> "<started> <ended>"`` and
``INCR peers:done``. Workhorse, Celery, Dramatiq, Procrastinate, RQ, taskiq, arq and SAQ all run
exactly this (the synchronous client in thread- and process-based workers, the asyncio client in
asyncio workers), so no system gets a cheaper job than another, and every system is counted,
timed and checked for losses and duplicates from the same record.

Times are `time.time()` of the process that runs the job; everything runs on one machine.
"""

from __future__ import annotations

import time
from typing import Any

import redis
import redis.asyncio

import settings

JOBS, DONE = "peers:jobs", "peers:done"

_client: redis.Redis | None = None
_async_client: Any = None


def client() -> redis.Redis:
    """This process's client for the benchmark's Redis database (thread-safe, pooled)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def _async() -> Any:
    """This process's asyncio client (each worker process runs one event loop)."""
    global _async_client
    if _async_client is None:
        _async_client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    return _async_client


def _fields(seq: int, started: float) -> dict[str, str]:
    return {str(seq): f"{started:.6f} {time.time():.6f}"}


def record(seq: int, started: float) -> None:
    """Record job ``seq``, started at ``started``, as done (one round trip)."""
    pipe = client().pipeline(transaction=False)
    pipe.hset(JOBS, mapping=_fields(seq, started))
    pipe.incr(DONE)
    pipe.execute()


async def record_async(seq: int, started: float) -> None:
    """`record` for asyncio workers."""
    pipe = _async().pipeline(transaction=False)
    pipe.hset(JOBS, mapping=_fields(seq, started))
    pipe.incr(DONE)
    await pipe.execute()


def done() -> int:
    """Completions recorded so far, duplicates included."""
    return int(client().get(DONE) or 0)  # type: ignore[arg-type]


def times() -> dict[int, tuple[float, float]]:
    """Each recorded job's (started, ended) times, by sequence number."""
    found: dict[int, tuple[float, float]] = {}
    for seq, value in client().hgetall(JOBS).items():  # type: ignore[union-attr]
        started, ended = value.split()
        found[int(seq)] = (float(started), float(ended))
    return found


def span_s(found: dict[int, tuple[float, float]]) -> float:
    """Seconds from the first job's start to the last job's end."""
    if not found:
        return float("nan")
    return max(end for _, end in found.values()) - min(start for start, _ in found.values())


def clear() -> None:
    """Forget the record (the brokers' own keys stay)."""
    client().delete(JOBS, DONE)


def flush() -> None:
    """Empty the benchmark's own Redis database (only that one)."""
    client().flushdb()
