"""A private PgBouncer (``pool_mode = transaction``) in front of the shared test server.

PgBouncer 1.18 passes no ``options`` startup parameter, so a test cannot pick its schema with
``-csearch_path`` as ``pgtest`` does. Instead the bouncer serves a few database names ("slots"),
each a connection to the test database whose ``connect_query`` sets the search path to a
schema of its own (named after the slot and this bouncer, so that test runs sharing the server
never share one); a test takes a free slot, gets its schema created empty, and drops it at the
end. The bouncer runs as the current user (as ``postgres`` when that is root, which it
refuses) from a directory of its own, on a free loopback port, and is stopped when the test
session ends. The shared server is only connected to, never reconfigured.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from pgtest import SERVER_URL, require_postgres

SLOTS = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _slot(index: int) -> str:
    """A database name the bouncer serves (its own namespace: the schema behind it is unique)."""
    return f"wh_pgbouncer_{index}"


def _schema(token: str, index: int) -> str:
    return f"wh_pgbouncer_{token}_{index}"


def _config(port: int, root: Path, token: str) -> str:
    server = urlsplit(SERVER_URL)
    target = (
        f"host={server.hostname or '127.0.0.1'} port={server.port or 5432} "
        f"dbname={server.path.lstrip('/') or 'test'} user={server.username or 'postgres'}"
    )
    databases = "\n".join(
        f"{_slot(i)} = {target} connect_query='SET search_path = {_schema(token, i)}'"
        for i in range(SLOTS)
    )
    return f"""[databases]
{databases}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root}/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
server_reset_query =
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""


class Bouncer:
    """One running PgBouncer and its free slots."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wh-pgbouncer-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.token = uuid.uuid4().hex[:8]
        (self.root / "users.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(_config(self.port, self.root, self.token))
        as_user: list[str] = []
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            shutil.chown(self.root, "postgres")
            as_user = ["-u", "postgres"]
        self.free = list(range(SLOTS))
        self._process = subprocess.Popen(
            ["pgbouncer", *as_user, str(self.root / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(0), connect_timeout=1).close()
                return
            except psycopg.Error:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    log = (self.root / "pgbouncer.log").read_text(errors="replace")
                    raise AssertionError(f"pgbouncer did not start:\n{log[-2000:]}") from None
                time.sleep(0.05)

    def url(self, slot: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{_slot(slot)}"

    def schema(self, slot: int) -> str:
        return _schema(self.token, slot)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _problem() -> str | None:
    if shutil.which("pgbouncer") is None:
        return "pgbouncer is not installed (Debian's pgbouncer package)"
    return None


@cache
def bouncer() -> Bouncer:
    """The session's PgBouncer, started on first use and stopped at exit."""
    require_postgres()
    problem = _problem()
    if problem is not None:
        message = f"cannot run PgBouncer: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    started = Bouncer()
    atexit.register(started.stop)
    return started


def _reset(schema: str) -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())


@contextmanager
def pgbouncer_schema() -> Iterator[str]:
    """A URL through PgBouncer (``?pgbouncer=on``) to a fresh, empty schema of its own."""
    running = bouncer()
    slot = running.free.pop(0)
    _reset(running.schema(slot))
    try:
        yield running.url(slot) + "?pgbouncer=on"
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{running.schema(slot)}" CASCADE'.encode())
        running.free.append(slot)
