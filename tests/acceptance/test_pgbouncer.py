"""The acceptance scenarios through PgBouncer in transaction pooling mode (``?pgbouncer=on``):
no session state, so every statement may run on another server connection. The workers LISTEN
on a direct URL (``WORKHORSE_LISTEN_URL``), as PgBouncer cannot carry LISTEN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgbouncer import pgbouncer_schema
from pgtest import SERVER_URL
from workhorse import Workhorse

from ._harness import Workspace
from .fixtures import tasksmod
from .test_done_means import test_mixed_workload_survives_a_killed_worker as done_means


@pytest.fixture
def bounced(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose database URL goes through PgBouncer to a fresh, migrated schema."""
    with pgbouncer_schema() as url:
        space = Workspace(tmp_path)
        space.db_url = url
        try:
            migrated = space.cli("migrate")
            assert migrated.returncode == 0, migrated.stderr
            yield space
        finally:
            space.close()


@pytest.fixture
def bounced_app(bounced: Workspace) -> Iterator[Workhorse]:
    tasksmod.app.close()
    tasksmod.app.database_url = bounced.db_url
    try:
        yield tasksmod.app
    finally:
        tasksmod.app.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_done_means_scenario_through_pgbouncer(
    bounced: Workspace, bounced_app: Workhorse
) -> None:
    schema = bounced.db_url.rsplit("/", 1)[1].split("?")[0]
    bounced.env["WORKHORSE_LISTEN_URL"] = f"{SERVER_URL}?options=-csearch_path%3D{schema}"
    done_means(bounced, bounced_app)
