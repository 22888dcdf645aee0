"""The conformance suite's fixtures: every test runs once per backend in ``STORES``, and the
part that exercises connections, transactions, LISTEN and prepared statements a third time
through PgBouncer (``THROUGH_PGBOUNCER``).

A store factory gets the test's private temporary directory and whether the test takes the
migrated ``backend``, and provides the URL of a fresh, empty store for that one test (and
cleans it up afterwards). Migrated SQLite stores are copies of a template (``tests/migrated.py``);
the others are migrated by ``backend`` itself. Adding PostgreSQL means adding one entry that
creates a database (or schema) per test, skipping when the server is unreachable locally and
failing in CI (see ``tests/pgtest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pytest

from migrated import sqlite_store as migrated_sqlite
from pgbouncer import pgbouncer_schema
from pgtest import postgres_schema
from workhorse import Workhorse
from workhorse.backends import Backend, open_backend
from workhorse.tasks import Task

from .support import Jobs, at


@contextmanager
def _sqlite_store(tmp_path: Path, migrated: bool) -> Iterator[str]:
    path = tmp_path / "conformance.db"
    yield migrated_sqlite(path) if migrated else f"sqlite:///{path}"


@contextmanager
def _postgres_store(tmp_path: Path, migrated: bool) -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@contextmanager
def _pgbouncer_store(tmp_path: Path, migrated: bool) -> Iterator[str]:
    """PostgreSQL through PgBouncer in transaction pooling mode: no session state may leak."""
    with pgbouncer_schema() as url:
        yield url


STORES: dict[str, Callable[[Path, bool], AbstractContextManager[str]]] = {
    "sqlite": _sqlite_store,
    "postgres": _postgres_store,
    "pgbouncer": _pgbouncer_store,
}

THROUGH_PGBOUNCER = frozenset(
    {
        "test_schema",  # migrations: the advisory lock, SET LOCAL, multi-statement scripts
        "test_schema_latest",
        "test_listener",  # LISTEN is off through a transaction pooler
        "test_ended_watch",
        "test_app",  # the app opening the store by URL, enqueueing and running
        "test_app_enqueue_once",
        "test_job_insert_many",  # the hot path: batches, NOTIFY, no prepared statements
        "test_job_claim",
        "test_job_finish_many",
        "test_job_heartbeat",
        "test_job_poll",
        "test_idempotency",
        "test_leader",
        "test_workflow",
    }
)
"""The modules also run through PgBouncer, besides every test marked ``pgbouncer`` (racing
connections): what a transaction pooler could break is how statements reach the server, which
these cover; the rest of the suite is the same SQL and runs on plain PostgreSQL."""


def _stores(metafunc: pytest.Metafunc) -> list[str]:
    if metafunc.definition.get_closest_marker("postgres_only") is not None:
        return ["postgres"]
    module = metafunc.module.__name__.rpartition(".")[2]
    marked = metafunc.definition.get_closest_marker("pgbouncer") is not None
    if module in THROUGH_PGBOUNCER or marked:
        return sorted(STORES)
    return sorted(set(STORES) - {"pgbouncer"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_url" in metafunc.fixturenames:
        metafunc.parametrize("backend_url", _stores(metafunc), indirect=True)


class OpenStore(Protocol):
    def __call__(self, *, auto_migrate: bool = True) -> Backend: ...


@pytest.fixture
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh store of each backend kind."""
    migrated = "backend" in request.fixturenames
    with STORES[request.param](tmp_path, migrated) as url:
        yield url


@pytest.fixture
def open_store(backend_url: str) -> Iterator[OpenStore]:
    """Opens (more) backends on the test's store; all are closed at the end of the test."""
    opened: list[Backend] = []

    def open_(*, auto_migrate: bool = True) -> Backend:
        backend = open_backend(backend_url, auto_migrate=auto_migrate)
        opened.append(backend)
        return backend

    yield open_
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(open_store: OpenStore) -> Backend:
    """A migrated backend on a fresh store."""
    return open_store()


@pytest.fixture
def jobs(backend: Backend) -> Jobs:
    return Jobs(backend)


# -- the app over the test's store ------------------------------------------------------------


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(0))


@pytest.fixture
def app(backend_url: str, backend: Backend, clock: FixedClock) -> Iterator[Workhorse]:
    """An app on the test's store (migrated by ``backend``), opening it by URL as users do."""
    app = Workhorse(backend_url, clock=clock)
    yield app
    app.close()


@pytest.fixture
def work(app: Workhorse) -> Task[[int], int]:
    @app.task(max_attempts=2, priority=1)
    def work(n: int) -> int:
        return n

    return work
