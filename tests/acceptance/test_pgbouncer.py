"""The acceptance scenarios through PgBouncer in transaction pooling mode (``?pgbouncer=on``):
no session state, so every statement may run on another server connection. PgBouncer cannot
carry LISTEN: the done-means scenario's workers LISTEN on a direct URL (``WORKHORSE_LISTEN_URL``),
the load test's poll."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgbouncer import pgbouncer_schema
from pgtest import SERVER_URL
from workhorse import Workhorse

from ._failover import run_cut
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


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_workers_and_the_api_under_load_through_pgbouncer(
    bounced: Workspace, bounced_app: Workhorse
) -> None:
    """Three workers and the API through PgBouncer, Python and HTTP clients enqueueing for a
    few seconds: every call succeeds and every job succeeds once."""
    outcome = run_cut(bounced, bounced_app, lambda: None, before=2.0, after=2.0)
    assert not outcome.failed, [call.error for call in outcome.calls if call.error][:3]
    assert outcome.acknowledged > 0
    assert (outcome.lost, outcome.duplicates) == (0, 0)
