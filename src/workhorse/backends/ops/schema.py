"""The schema: numbered migrations applied once each, and the version a database is at."""

from __future__ import annotations

from workhorse.backends.sql import load_migrations
from workhorse.backends.store import Store
from workhorse.clock import utcnow
from workhorse.errors import SchemaError


def schema_version(store: Store) -> int:
    if not store.read("schema_has_migrations")[0]["present"]:
        return 0
    return max((row["version"] for row in store.read("schema_versions")), default=0)


def schema_latest(store: Store) -> int:
    """The newest migration this Workhorse ships for the database."""
    migrations = load_migrations(store.migrations)
    return migrations[-1][0] if migrations else 0


def refuse_newer(store: Store, version: int) -> None:
    """A database migrated by a newer Workhorse than this one is a SchemaError."""
    newest = schema_latest(store)
    if version > newest:
        raise SchemaError(
            f"{store.name} has schema version {version}, newer than this Workhorse "
            f"({newest}); upgrade Workhorse"
        )


def migrate(store: Store) -> list[int]:
    applied: list[int] = []
    with store.migrating() as tx:
        tx.count("schema_create_migrations")
        done = {row["version"] for row in tx.all("schema_versions")}
        refuse_newer(store, max(done, default=0))
        for version, name, sql in load_migrations(store.migrations):
            if version in done:
                continue
            tx.script(sql)
            record = {"version": version, "name": name, "now": store.values.time(utcnow())}
            tx.count("schema_record_migration", record)
            applied.append(version)
    return applied


def storage_vacuum(store: Store) -> None:
    store.write("storage_vacuum")
