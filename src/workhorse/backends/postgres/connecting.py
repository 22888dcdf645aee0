"""How Workhorse connects to PostgreSQL: its URL options, libpq's defaults for failover, and the
check that keeps a dead pooled connection from ever being handed out.

A URL may name several hosts (``postgresql://db1:5432,db2:5432/jobs``); every connection asks
for ``target_session_attrs=read-write`` unless the URL says otherwise, so after a failover libpq
skips the old primary (down, or back as a standby) and finds the new one. TCP keepalives and a
TCP user timeout bound how long a connection to a host that vanished without closing its
sockets can hang. ``statement_timeout``, ``lock_timeout``,
``idle_in_transaction_session_timeout`` and ``jit`` go in libpq's startup ``options``, so they
hold without any ``SET`` (session state a transaction-pooling PgBouncer would not keep).
"""

from __future__ import annotations

import select
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from workhorse.errors import ConfigurationError
from workhorse.redact import redact_url

LIBPQ_DEFAULTS = {
    "target_session_attrs": "read-write",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
"""Added to every URL that does not set them (milliseconds for ``tcp_user_timeout``)."""

SERVER_SETTINGS = {
    "statement_timeout": "30s",
    "lock_timeout": "10s",
    "idle_in_transaction_session_timeout": "60s",
    "jit": "off",
}
"""Server settings sent at connection start, each overridable on the URL (``0`` turns a timeout
off). JIT compilation is off: a claim over a deep backlog is estimated costly (the planner cannot
see its per-tenant limits) and would spend tens of milliseconds compiling a statement that runs
in one."""

_NUMBERS = {"pool_min": int, "pool_max": int, "pool_timeout": float}


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """A URL split into libpq's connection string and Workhorse's own options.

    ``pool_timeout`` is the budget of one call: how long it waits for a connection, whether the
    pool is busy or the database is down, before it fails with ``DatabaseError``. ``pgbouncer``
    (``?pgbouncer=on``) turns off what a transaction-pooling PgBouncer cannot carry: prepared
    statements and startup options (set the timeouts on the role instead) and LISTEN on this URL.
    """

    conninfo: str
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 5.0
    pgbouncer: bool = False

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for every pooled connection."""
        kwargs: dict[str, Any] = {"connect_timeout": 5, "autocommit": True}
        if self.pgbouncer:
            kwargs["prepare_threshold"] = None
        return kwargs


def parse_url(url: str) -> ConnectSettings:
    """Split Workhorse's options (pool_min, pool_max, pool_timeout, pgbouncer, the server
    settings) off a libpq URL and add the failover defaults."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ConfigurationError(f"not a PostgreSQL URL: {redact_url(url)}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    numbers = _numbers(query, url)
    pgbouncer = _flag(query.pop("pgbouncer", "off"), "pgbouncer")
    settings = {name: query.pop(name, default) for name, default in SERVER_SETTINGS.items()}
    if not pgbouncer:
        query["options"] = _with_settings(query.get("options", ""), settings)
    for key, value in LIBPQ_DEFAULTS.items():
        query.setdefault(key, value)
    encoded = urlencode(query, quote_via=quote)  # libpq reads "+" as itself, not a space
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, encoded, ""))
    return ConnectSettings(conninfo, pgbouncer=pgbouncer, **numbers)


def _numbers(query: dict[str, str], url: str) -> dict[str, Any]:
    try:
        numbers = {key: kind(query.pop(key)) for key, kind in _NUMBERS.items() if key in query}
    except ValueError:
        raise ConfigurationError(f"bad pool option in {redact_url(url)}") from None
    if not 1 <= numbers.get("pool_min", 1) <= numbers.get("pool_max", 10):
        raise ConfigurationError("need 1 <= pool_min <= pool_max")
    if numbers.get("pool_timeout", 1.0) <= 0:
        raise ConfigurationError("pool_timeout must be positive")
    return numbers


def _flag(value: str, name: str) -> bool:
    if value.lower() in {"on", "true", "1", "yes"}:
        return True
    if value.lower() in {"off", "false", "0", "no"}:
        return False
    raise ConfigurationError(f"{name} must be on or off, not {value!r}")


def _with_settings(options: str, settings: dict[str, str]) -> str:
    """libpq ``options`` with ``-c name=value`` for each setting the caller's options lack."""
    added = [f"-c {name}={value}" for name, value in settings.items() if name not in options]
    return " ".join([options, *added]).strip()


def looks_alive(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle pooled connection can be used, without a round trip.

    An idle connection has nothing to read: when its socket is readable, the server closed it
    or sent it a FATAL message (a restart, a failover, ``idle_session_timeout``). The rare
    harmless message (a parameter change) costs only a new connection.
    """
    if conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


class _PromptAttempt(AttemptWithBackoff):
    """Reconnection attempts 0.1 s apart, doubling to at most 1 s (psycopg_pool's own start at
    1 s and double without a cap: after an outage of a few seconds the pool would wait many
    seconds more before trying again)."""

    INITIAL_DELAY = 0.1
    MAX_DELAY = 1.0

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.MAX_DELAY)


class PromptPool(ConnectionPool[psycopg.Connection[Any]]):
    """A ConnectionPool that retries a failed connection at most a second apart."""

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = _PromptAttempt(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing)
