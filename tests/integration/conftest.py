"""Integration fixtures: a private PostgreSQL schema per test, migrated or not, and a workspace
whose CLI processes (``acceptance._harness.Workspace``) use that schema.

Teardown order matters: processes are stopped before the schema is dropped, and the server is
started again if a test left it down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from acceptance._harness import Workspace
from acceptance.fixtures import pgcluster
from backends.support import Jobs
from pgtest import postgres_schema
from workhorse.backends import open_backend


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty schema of its own."""
    with postgres_schema() as url:
        try:
            yield url
        finally:
            pgcluster.ensure_running()


@pytest.fixture
def migrated_url(pg_url: str) -> str:
    """``pg_url`` with the Workhorse schema created in it."""
    open_backend(pg_url, auto_migrate=True).close()
    return pg_url


@pytest.fixture
def pg_jobs(pg_url: str) -> Iterator[Jobs]:
    """A ``Jobs`` driver (``backends.support``) over a backend of ``pg_url``, migrated."""
    backend = open_backend(pg_url, auto_migrate=True)
    try:
        yield Jobs(backend)
    finally:
        backend.close()


@pytest.fixture
def pg_workspace(migrated_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose workers use the migrated schema; its processes stop at teardown."""
    space = Workspace(tmp_path)
    space.db_url = migrated_url
    try:
        yield space
    finally:
        space.close()
