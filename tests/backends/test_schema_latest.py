"""schema_latest: the newest migration this Workhorse knows, whatever the database holds."""

from __future__ import annotations

from .conftest import OpenStore


def test_schema_latest_is_where_migrate_brings_an_empty_store(open_store: OpenStore) -> None:
    backend = open_store(auto_migrate=False)
    latest = backend.schema_latest()
    assert backend.schema_version() == 0
    assert backend.migrate()[-1] == latest
    assert backend.schema_version() == backend.schema_latest() == latest


def test_schema_latest_does_not_follow_the_database(open_store: OpenStore) -> None:
    fresh = open_store(auto_migrate=False)
    latest = fresh.schema_latest()
    migrated = open_store()
    assert migrated.schema_latest() == latest == migrated.schema_version()
    assert fresh.schema_latest() == latest, "a store migrated since does not change it"
