"""migrate and schema_version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from workhorse.backends import Backend

from .conftest import OpenStore
from .support import Jobs


def test_migrate_applies_every_migration_once_in_order(open_store: OpenStore) -> None:
    backend = open_store(auto_migrate=False)
    assert backend.schema_version() == 0
    applied = backend.migrate()
    assert applied and applied[0] == 1 and applied == sorted(set(applied))
    assert backend.schema_version() == applied[-1]


def test_migrate_is_idempotent(backend: Backend, jobs: Jobs) -> None:
    version = backend.schema_version()
    job_id = jobs.insert()
    assert backend.migrate() == []
    assert backend.migrate() == []
    assert backend.schema_version() == version
    assert jobs.get(job_id).id == job_id


def test_schema_version_is_seen_by_a_second_backend_on_the_same_store(
    backend: Backend, open_store: OpenStore, jobs: Jobs
) -> None:
    job_id = jobs.insert(task="shared")
    other = open_store(auto_migrate=False)
    assert other.schema_version() == backend.schema_version() > 0
    assert other.migrate() == []
    assert Jobs(other).get(job_id).task == "shared"


def test_migrate_racing_backends_apply_each_migration_once(open_store: OpenStore) -> None:
    stores = [open_store(auto_migrate=False) for _ in range(4)]
    with ThreadPoolExecutor(len(stores)) as pool:
        applied = list(pool.map(lambda backend: backend.migrate(), stores))
    everything = sorted(version for versions in applied for version in versions)
    assert everything[0] == 1 and everything == sorted(set(everything))
    assert {backend.schema_version() for backend in stores} == {everything[-1]}
