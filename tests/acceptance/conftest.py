"""Fixtures: a workspace (directory, database, processes) per test, and an app pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workhorse import Workhorse

from ._harness import Workspace
from .fixtures import tasksmod


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """This test's directory; every process started in it is stopped at teardown."""
    space = Workspace(tmp_path)
    try:
        yield space
    finally:
        space.close()


@pytest.fixture
def app(workspace: Workspace) -> Iterator[Workhorse]:
    """The fixture tasks' app, on this test's database (as ``--database-url`` does in workers)."""
    tasksmod.app.close()
    tasksmod.app.database_url = workspace.db_url
    try:
        yield tasksmod.app
    finally:
        tasksmod.app.close()
