"""The app's storage lifecycle over each backend: open, migrate, schema_status, close."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workhorse import Workhorse
from workhorse.errors import ConfigurationError, DatabaseError
from workhorse.tasks import Task

from .conftest import OpenStore


@pytest.fixture
def fresh_app(backend_url: str) -> Iterator[Workhorse]:
    """An app on the test's empty store, not opened yet."""
    app = Workhorse(backend_url)
    yield app
    app.close()


def test_migrate_brings_an_empty_store_to_the_latest_schema(
    fresh_app: Workhorse, open_store: OpenStore
) -> None:
    latest = open_store(auto_migrate=False).schema_latest()
    applied = fresh_app.migrate()
    assert applied[0] == 1 and applied[-1] == latest and applied == sorted(set(applied))
    status = fresh_app.schema_status()
    assert (status.version, status.latest) == (latest, latest)
    assert fresh_app.migrate() == []


def test_open_is_idempotent_and_migrates_only_sqlite(
    fresh_app: Workhorse, backend_url: str
) -> None:
    fresh_app.open()
    fresh_app.open()
    status = fresh_app.schema_status()
    expected = status.latest if backend_url.startswith("sqlite") else 0
    assert status.version == expected
    fresh_app.migrate()
    assert fresh_app.schema_status().version == status.latest


def test_close_then_use_opens_the_store_again(app: Workhorse, work: Task[[int], int]) -> None:
    handle = app.enqueue("work", [1])
    app.close()
    app.close()
    assert app.get_job(handle.id).args == [1]


def test_open_fails_at_once_on_a_bad_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unsupported database URL"):
        Workhorse("mysql://nowhere").open()
    with pytest.raises(DatabaseError):
        Workhorse(f"sqlite:///{tmp_path}/missing/dir/x.db").open()
