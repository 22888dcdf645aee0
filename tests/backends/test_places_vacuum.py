"""places_vacuum: removes what claims left in the fair order's index (PostgreSQL), and changes no
place and no job on either database; the maintenance leader runs it every few seconds."""

from __future__ import annotations

import asyncio
from contextlib import closing
from datetime import timedelta
from typing import TypeVar

import psycopg
import pytest

from integration.events_support import direct_db
from pgtest import postgres_schema
from workhorse import Workhorse
from workhorse.backends import open_backend
from workhorse.backends.postgres.connecting import parse_url
from workhorse.scheduling.maintenance import Maintenance, MaintenanceConfig

from .support import Jobs, at, new_job

A = TypeVar("A")
T = TypeVar("T")


def _fill(jobs: Jobs, tenants: int) -> None:
    jobs.insert_many([new_job(at(0), tenant=f"t{i}") for i in range(tenants) for _ in range(2)])


def test_places_vacuum_changes_no_place_and_no_claim(jobs: Jobs) -> None:
    _fill(jobs, 4)
    first = jobs.claim(limit=2)  # moves the places of the two tenants served behind the others
    jobs.backend.places_vacuum()
    jobs.backend.places_vacuum()  # twice: nothing left to do is fine too
    second = jobs.claim(limit=2, now=at(1))
    assert {job.tenant for job in first} == {"t0", "t1"}
    assert {job.tenant for job in second} == {"t2", "t3"}, "the order of the places changed"
    assert len(jobs.claim(limit=10, now=at(2))) == 4


def test_places_vacuum_vacuums_the_places_table_on_postgresql() -> None:
    """Fewer changed rows than autovacuum's threshold (50), so no autovacuum runs beside it."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        _fill(jobs, 5)
        jobs.claim(limit=3)
        assert _vacuums(url) == 0
        backend.places_vacuum()
        assert _vacuums(url) == 1


def _vacuums(url: str) -> int:
    """Vacuums run by hand on the test schema's places table."""
    with psycopg.connect(parse_url(url).conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables"
            " WHERE relid = 'workhorse_places'::regclass"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_maintenance_leader_vacuums_the_places_at_its_interval(
    app: Workhorse, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(app.backend, "places_vacuum", lambda: calls.append(None))
    config = MaintenanceConfig(places_vacuum_interval=timedelta(hours=1))
    maintenance = Maintenance(app, holder="leader", db=direct_db(), config=config)
    for _ in range(3):
        asyncio.run(maintenance.tick())
    assert maintenance.leading
    assert len(calls) == 1, "vacuumed once when first due, then not again within the interval"
