"""Private PostgreSQL clusters for tests that stop, restart or fail over a server.

A test never restarts the shared server (other test runs use it at the same time): it creates
clusters of its own with Debian's ``pg_createcluster`` on free ports (5440 and up), a streaming
standby with ``pg_basebackup``, and drops them (``pg_dropcluster --stop``) when it ends. Like
``pgtest``, a machine that cannot (not root, no postgresql-common) skips locally and fails in CI.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

FIRST_PORT = 5440
SETTINGS = (
    "listen_addresses=localhost",
    "max_connections=200",
    "shared_buffers=64MB",
    "wal_level=replica",
    "max_wal_senders=5",
    "hot_standby=on",
    "fsync=off",  # no machine crash is simulated: a stopped server still writes its WAL
    "log_min_messages=warning",
)
TOOLS = ("pg_createcluster", "pg_dropcluster", "pg_ctlcluster", "pg_lsclusters", "pg_basebackup")


def _run(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def _problem() -> str | None:
    if any(shutil.which(tool) is None for tool in TOOLS):
        return f"{'/'.join(TOOLS)} are not installed (Debian's postgresql-common)"
    if os.geteuid() != 0:
        return "creating PostgreSQL clusters needs root"
    return None


def require_clusters() -> None:
    """Skip (locally) or fail (in CI) when this machine cannot create private clusters."""
    problem = _problem()
    if problem is None:
        return
    message = f"cannot create private PostgreSQL clusters: {problem}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _version() -> str:
    return sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]


def _taken_ports() -> set[int]:
    listed = _run("pg_lsclusters", "--no-header")
    return {int(line.split()[2]) for line in listed.splitlines() if line.strip()}


def free_port() -> int:
    """A port from 5440 up that no cluster is configured for and nothing listens on (from a
    random start, so that runs creating clusters at the same time seldom pick the same one)."""
    taken = _taken_ports()
    start = random.randrange(200)
    for offset in range(200):
        port = FIRST_PORT + (start + offset) % 200
        if port in taken:
            continue
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise AssertionError("no free port for a private PostgreSQL cluster")


@dataclass
class Cluster:
    """One private cluster: ``pg_ctlcluster VERSION NAME ACTION``."""

    version: str
    name: str
    port: int

    @property
    def data_dir(self) -> Path:
        return Path(f"/var/lib/postgresql/{self.version}/{self.name}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, action: str, *options: str) -> None:
        skip = "--skip-systemctl-redirect"
        _run("pg_ctlcluster", skip, self.version, self.name, action, *options)

    def start(self, tries: int = 3) -> None:
        """Start it and wait until it accepts connections; on a port another cluster took
        meanwhile, move to a free one."""
        for _ in range(tries - 1):
            try:
                self.ctl("start")
                break
            except AssertionError as exc:
                if "Port conflict" not in str(exc):
                    raise
                self.port = free_port()
                _run("pg_conftool", self.version, self.name, "set", "port", str(self.port))
        else:
            self.ctl("start")
        self.wait_ready()

    def is_ready(self) -> bool:
        try:
            psycopg.connect(self.url(), connect_timeout=1).close()
        except psycopg.Error:
            return False
        return True

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster {self.name} not ready after {timeout:g}s")
            time.sleep(0.05)

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql.encode())

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            capture_output=True,
            check=False,
            timeout=120,
        )


def _create(name: str, *settings: str) -> Cluster:
    cluster = Cluster(_version(), name, free_port())
    options = [part for setting in (*SETTINGS, *settings) for part in ("-o", setting)]
    _run(
        "pg_createcluster", cluster.version, name, "-p", str(cluster.port), *options,
        "--", "--auth=trust",
    )  # fmt: skip
    return cluster


def _standby_of(primary: Cluster, name: str) -> Cluster:
    """A streaming standby of ``primary``: a new cluster whose data is a base backup of it."""
    standby = _create(name)
    for child in standby.data_dir.iterdir():  # the directory stays: only postgres owns it
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    _run(
        "runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1",
        "-p", str(primary.port), "-U", "postgres", "-D", str(standby.data_dir),
        "-R", "-X", "stream", "-c", "fast", "-d", "application_name=" + name,
    )  # fmt: skip
    standby.start()
    return standby


@contextmanager
def private_cluster(database: str = "jobs") -> Iterator[Cluster]:
    """A running private cluster with an empty ``database``, dropped afterwards."""
    require_clusters()
    cluster = _create(f"wh_{uuid.uuid4().hex[:8]}")
    try:
        cluster.start()
        cluster.execute(f'CREATE DATABASE "{database}"')
        yield cluster
    finally:
        cluster.drop()


@contextmanager
def primary_and_standby(*, synchronous: bool, database: str = "jobs") -> Iterator[list[Cluster]]:
    """A primary with a streaming standby (synchronous or not), both dropped afterwards."""
    with private_cluster(database) as primary:
        standby_name = f"{primary.name}_standby"
        try:
            standby = _standby_of(primary, standby_name)
            if synchronous:
                primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
                primary.execute("SELECT pg_reload_conf()")
            yield [primary, standby]
        finally:
            Cluster(primary.version, standby_name, 0).drop()


def failover_url(clusters: list[Cluster], database: str = "jobs") -> str:
    """A multi-host URL over ``clusters`` that connects to whichever is the primary."""
    hosts = ",".join(f"127.0.0.1:{cluster.port}" for cluster in clusters)
    return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"
