"""A completion record kept in Redis, for the peers that keep none of their own (Celery, Dramatiq).

Each no-op job runs one Lua script: it notes the server time of the first and the last job and
counts the jobs, atomically and on one clock (Redis runs scripts one at a time, so the last
script run carries the latest time). That is one round trip per job that Workhorse's no-op does
not make; the peers that record completion themselves (RQ, Procrastinate) are read from their own
state instead.
"""

from __future__ import annotations

from typing import Any

import redis

import settings

FIRST, LAST, DONE = "peers:first", "peers:last", "peers:done"

_RECORD = """
local t = redis.call('TIME')
local now = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
redis.call('SET', KEYS[1], now, 'NX')
redis.call('SET', KEYS[2], now)
return redis.call('INCR', KEYS[3])
"""

_client: redis.Redis | None = None
_script: Any = None


def client() -> redis.Redis:
    """This process's client for the benchmark's Redis database (thread-safe, pooled)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def record() -> None:
    """Count one finished job."""
    global _script
    if _script is None:
        _script = client().register_script(_RECORD)
    _script(keys=[FIRST, LAST, DONE])


def done() -> int:
    return int(client().get(DONE) or 0)


def span_s() -> float:
    """Seconds from the first job to the last one, by the Redis server's clock."""
    first, last = client().mget(FIRST, LAST)
    if first is None or last is None:
        return float("nan")
    return float(last) - float(first)


def flush() -> None:
    """Empty the benchmark's own Redis database (only that one)."""
    client().flushdb()
