"""Fixtures: the API served over real HTTP on SQLite and on PostgreSQL, one fresh, migrated store
per test (on SQLite a copy of a migrated template: ``tests/migrated.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from migrated import sqlite_store as migrated_sqlite
from pgtest import postgres_schema
from workhorse.backends import open_backend

from .support import Api, Clock, join_stopped_servers, served_api


@contextmanager
def _sqlite_store(tmp_path: Path) -> Iterator[str]:
    yield migrated_sqlite(tmp_path / "api.db")


@contextmanager
def _postgres_store(tmp_path: Path) -> Iterator[str]:
    with postgres_schema() as url:
        open_backend(url, auto_migrate=True).close()
        yield url


STORES: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "sqlite": _sqlite_store,
    "postgres": _postgres_store,
}


@pytest.fixture(params=sorted(STORES))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated store of each backend kind."""
    with STORES[request.param](tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(store_url: str, clock: Clock) -> Iterator[Api]:
    """The API of a fresh app, served on a free loopback port."""
    with served_api(store_url, clock) as served:
        yield served


@pytest.fixture(scope="session", autouse=True)
def _servers_stop() -> Iterator[None]:
    """Servers stop in the background between tests; all must be gone by the end."""
    yield
    join_stopped_servers()
