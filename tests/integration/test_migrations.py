"""``workhorse migrate`` run by many processes at once on a fresh schema: each migration is
applied exactly once, every process succeeds, and a later run applies nothing."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import psycopg

from acceptance._harness import Workspace
from workhorse.backends import open_backend

PROCESSES = 6
MIGRATIONS = "workhorse.backends.postgres.migrations"
CORE_TABLES = {
    "workhorse_jobs",
    "workhorse_leaders",
    "workhorse_migrations",
    "workhorse_periodic",
    "workhorse_workers",
}


def _migration_files() -> list[tuple[int, str]]:
    """(version, name) of each ``NNNN_name.sql`` shipped with the backend."""
    found = []
    for entry in resources.files(MIGRATIONS).iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2]))
    return sorted(found)


def _applied(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, name FROM workhorse_migrations ORDER BY version")
        return [(version, name) for version, name in rows]


def _tables(url: str) -> set[str]:
    """The tables in the URL's own schema (the first on its search path)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {name for (name,) in rows}


def test_concurrent_migrate_applies_each_migration_once(pg_url: str, tmp_path: Path) -> None:
    files = _migration_files()
    assert files, "the backend ships migrations"
    versions = ", ".join(str(version) for version, _ in files)
    space = Workspace(tmp_path)
    try:
        procs = [
            space.start("migrate", "--database-url", pg_url, name=f"migrate-{i}")
            for i in range(PROCESSES)
        ]
        statuses = [proc.wait_exit(60) for proc in procs]
        outputs = [proc.stdout().strip() for proc in procs]
    finally:
        space.close()

    assert statuses == [0] * PROCESSES, [proc.stderr() for proc in procs]
    newest = files[-1][0]
    applied_by = [out for out in outputs if out.startswith("applied")]
    assert applied_by == [f"applied migrations {versions}; schema version {newest}"]
    assert sorted(outputs) == sorted(
        [*applied_by, *[f"schema is up to date (version {newest})"] * (PROCESSES - 1)]
    )
    assert _applied(pg_url) == files
    tables = _tables(pg_url)
    assert tables >= CORE_TABLES
    assert all(name.startswith("workhorse_") for name in tables)


def test_migrate_again_applies_nothing(pg_url: str, tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    first = space.run("migrate", "--database-url", pg_url)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(pg_url) as conn:
        before = conn.execute("SELECT version, applied_at FROM workhorse_migrations").fetchall()

    again = space.run("migrate", "--database-url", pg_url)

    assert again.returncode == 0, again.stderr
    newest = _migration_files()[-1][0]
    assert again.stdout.strip() == f"schema is up to date (version {newest})"
    with psycopg.connect(pg_url) as conn:
        after = conn.execute("SELECT version, applied_at FROM workhorse_migrations").fetchall()
    assert after == before, "no migration re-applied or re-recorded"
    backend = open_backend(pg_url)
    try:
        assert backend.migrate() == []
        assert backend.schema_version() == newest
    finally:
        backend.close()


def test_a_fresh_schema_is_not_migrated_implicitly(pg_url: str) -> None:
    backend = open_backend(pg_url)
    try:
        assert backend.schema_version() == 0
    finally:
        backend.close()
    assert _tables(pg_url) == set()
