"""tenant_upsert, tenant_get, tenant_list and tenant_stats: round trips, what stats count, and
the validation of a tenant's configuration (in ``Tenant`` and in the app's ``set_tenant``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from workhorse import Workhorse
from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.jobs import JobState
from workhorse.tenants import Tenant, TenantStats

from .support import T0, Jobs, at, success


def _upsert(backend: Backend, name: str, now: datetime = T0, **fields: Any) -> Tenant:
    return backend.tenant_upsert(b.TenantUpsertParams(tenant=Tenant(name=name, **fields), now=now))


def _get(backend: Backend, name: str) -> Tenant | None:
    return backend.tenant_get(b.TenantGetParams(name=name))


def _stats(backend: Backend, now: datetime) -> dict[str, TenantStats]:
    rows = backend.tenant_stats(b.TenantStatsParams(now=now))
    assert [row.tenant.name for row in rows] == sorted(row.tenant.name for row in rows)
    return {row.tenant.name: row for row in rows}


def _settings(tenant: Tenant) -> tuple[object, ...]:
    return (
        tenant.name,
        tenant.weight,
        tenant.max_running,
        tenant.max_queued,
        tenant.rate,
        tenant.burst,
        tenant.paused,
    )


# -- tenant_upsert, tenant_get, tenant_list ----------------------------------------------------


def test_tenant_upsert_stores_every_setting_and_returns_the_tenant(backend: Backend) -> None:
    wanted = Tenant(
        name="acme", weight=2.5, max_running=4, max_queued=100, rate=3.0, burst=6.0, paused=True
    )
    stored = backend.tenant_upsert(b.TenantUpsertParams(tenant=wanted, now=at(5)))
    assert _settings(stored) == _settings(wanted)
    assert stored.created_at == stored.updated_at == at(5)
    assert _get(backend, "acme") == stored


def test_tenant_upsert_of_the_defaults_stores_unlimited(backend: Backend) -> None:
    stored = _upsert(backend, "plain")
    assert _settings(stored) == ("plain", 1.0, None, None, None, None, False)
    assert stored.bucket_size is None


def test_tenant_upsert_replaces_the_configuration_and_keeps_created_at(backend: Backend) -> None:
    _upsert(backend, "acme", now=at(0), max_running=5, rate=2.0, paused=True)
    stored = _upsert(backend, "acme", now=at(10), weight=3.0)
    assert _settings(stored) == ("acme", 3.0, None, None, None, None, False)
    assert (stored.created_at, stored.updated_at) == (at(0), at(10))
    assert _get(backend, "acme") == stored


def test_tenant_get_of_an_unknown_tenant_is_none(backend: Backend) -> None:
    _upsert(backend, "acme")
    assert _get(backend, "globex") is None


def test_tenant_list_returns_every_tenant_by_name(backend: Backend) -> None:
    assert backend.tenant_list(b.TenantListParams()) == []
    for name in ("zeta", "alpha", "mid"):
        _upsert(backend, name, weight=len(name))
    listed = backend.tenant_list(b.TenantListParams())
    assert [tenant.name for tenant in listed] == ["alpha", "mid", "zeta"]
    assert [tenant.weight for tenant in listed] == [5.0, 3.0, 4.0]
    assert listed == [_get(backend, tenant.name) for tenant in listed]


def test_a_tenant_has_a_row_once_its_first_job_finishes(jobs: Jobs) -> None:
    job = jobs.running(tenant="newcomer")
    assert _get(jobs.backend, "newcomer") is None
    assert jobs.finish(success(job), now=at(2)) == [job.id]
    found = _get(jobs.backend, "newcomer")
    assert found is not None
    assert _settings(found) == ("newcomer", 1.0, None, None, None, None, False)
    assert [t.name for t in jobs.backend.tenant_list(b.TenantListParams())] == ["newcomer"]


def test_tenant_upsert_keeps_the_usage(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme")
    jobs.finish(success(job), now=at(4))
    _upsert(jobs.backend, "acme", now=at(4), weight=2.0, max_running=1)
    assert _stats(jobs.backend, at(4))["acme"].usage == pytest.approx(4.0)


# -- tenant_stats ------------------------------------------------------------------------------


def test_tenant_stats_of_an_empty_store_is_empty(backend: Backend) -> None:
    assert backend.tenant_stats(b.TenantStatsParams(now=T0)) == []


def test_tenant_stats_counts_running_waiting_and_recent_starts(jobs: Jobs) -> None:
    jobs.in_state(JobState.RUNNING, tenant="globex")
    # Jobs that ran first: in_state claims each as the next queued job.
    for state in (
        JobState.RUNNING,
        JobState.SUCCEEDED,
        JobState.DEAD,
        JobState.RETRYING,
        JobState.CANCELLED,
        JobState.SCHEDULED,
        JobState.QUEUED,
        JobState.QUEUED,
    ):
        jobs.in_state(state, tenant="acme")
    acme = _stats(jobs.backend, at(30))["acme"]
    assert (acme.running, acme.waiting) == (1, 4)
    # Started at T0: the running, succeeded, dead and retrying jobs (the cancelled one never ran).
    assert acme.started_last_minute == 4
    globex = _stats(jobs.backend, at(30))["globex"]
    assert (globex.running, globex.waiting, globex.started_last_minute) == (1, 0, 1)


def test_tenant_stats_forgets_starts_older_than_a_minute(jobs: Jobs) -> None:
    jobs.in_state(JobState.SUCCEEDED, tenant="acme")
    jobs.in_state(JobState.RUNNING, tenant="acme")
    assert _stats(jobs.backend, at(59))["acme"].started_last_minute == 2
    later = _stats(jobs.backend, at(61))["acme"]
    assert later.started_last_minute == 0
    assert later.running == 1


def test_tenant_stats_lists_configured_tenants_and_tenants_with_jobs(jobs: Jobs) -> None:
    _upsert(jobs.backend, "configured", max_running=3, paused=True)
    jobs.insert(tenant="unconfigured")
    jobs.insert(tenant="unconfigured")
    stats = _stats(jobs.backend, T0)
    assert list(stats) == ["configured", "unconfigured"]
    configured = stats["configured"]
    assert (configured.running, configured.waiting, configured.started_last_minute) == (0, 0, 0)
    assert configured.tenant.max_running == 3 and configured.tenant.paused
    assert configured.usage == 0.0
    unconfigured = stats["unconfigured"]
    assert unconfigured.tenant == Tenant(name="unconfigured")
    assert (unconfigured.waiting, unconfigured.usage) == (2, 0.0)


def test_tenant_stats_usage_is_decayed_at_now_with_the_window_asked(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme")
    jobs.finish(success(job), now=at(6))
    one_minute = b.TenantStatsParams(now=at(66), usage_window=timedelta(minutes=1))
    half_minute = b.TenantStatsParams(now=at(66), usage_window=timedelta(seconds=30))
    [minute] = jobs.backend.tenant_stats(one_minute)
    [half] = jobs.backend.tenant_stats(half_minute)
    assert minute.usage == pytest.approx(6.0 * math.e**-1)
    assert half.usage == pytest.approx(6.0 * math.e**-2)


# -- validation: Tenant and the app's set_tenant -----------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"name": 7},
        {"name": "t", "weight": 0},
        {"name": "t", "weight": -1.0},
        {"name": "t", "weight": float("nan")},
        {"name": "t", "weight": float("inf")},
        {"name": "t", "weight": True},
        {"name": "t", "max_running": -1},
        {"name": "t", "max_running": 1.5},
        {"name": "t", "max_queued": -1},
        {"name": "t", "rate": 0},
        {"name": "t", "rate": -2.0},
        {"name": "t", "rate": 1.0, "burst": 0.5},
        {"name": "t", "rate": 1.0, "burst": float("inf")},
    ],
    ids=repr,
)
def test_tenant_refuses_an_invalid_configuration(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Tenant(**fields)


@pytest.mark.parametrize(
    ("fields", "bucket"),
    [
        ({}, None),
        ({"rate": 0.5}, 1.0),
        ({"rate": 5.0}, 5.0),
        ({"rate": 5.0, "burst": 2.0}, 2.0),
        ({"rate": 0.5, "burst": 10.0}, 10.0),
    ],
)
def test_tenant_bucket_size_defaults_to_the_rate_and_at_least_one(
    fields: dict[str, Any], bucket: float | None
) -> None:
    tenant = Tenant(name="t", **fields)
    assert tenant.bucket_size == bucket


@pytest.mark.parametrize("fields", [{"max_running": 0}, {"max_queued": 0}])
def test_tenant_allows_zero_limits(fields: dict[str, Any]) -> None:
    assert Tenant(name="t", **fields) is not None


@pytest.fixture
def app(backend_url: str, backend: Backend) -> Iterator[Workhorse]:
    """An app on the test's store, its clock at T0."""
    app = Workhorse(backend_url, clock=lambda: T0)
    yield app
    app.close()


def test_app_set_tenant_changes_only_the_settings_given(app: Workhorse) -> None:
    app.set_tenant("acme", max_running=5, rate=2.0)
    changed = app.set_tenant("acme", weight=3.0)
    assert _settings(changed) == ("acme", 3.0, 5, None, 2.0, None, False)
    assert app.get_tenant("acme") == changed


def test_app_set_tenant_can_remove_a_limit(app: Workhorse) -> None:
    app.set_tenant("acme", max_running=5, max_queued=10)
    assert app.set_tenant("acme", max_running=None).max_running is None
    assert app.get_tenant("acme").max_queued == 10


def test_app_get_tenant_of_a_tenant_never_configured_is_the_defaults(app: Workhorse) -> None:
    assert app.get_tenant("nobody") == Tenant(name="nobody")
    assert app.backend.tenant_list(b.TenantListParams()) == []


def test_app_pause_and_resume_tenant(app: Workhorse) -> None:
    app.set_tenant("acme", weight=2.0)
    assert app.pause_tenant("acme").paused
    assert app.get_tenant("acme").paused
    resumed = app.resume_tenant("acme")
    assert not resumed.paused
    assert resumed.weight == 2.0


@pytest.mark.parametrize(
    "changes",
    [{"colour": "red"}, {"created_at": None}, {"usage": 3.0}, {"weight": 0}, {"burst": 0.1}],
    ids=repr,
)
def test_app_set_tenant_refuses_bad_settings_and_stores_nothing(
    app: Workhorse, changes: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        app.set_tenant("acme", **changes)
    assert app.backend.tenant_get(b.TenantGetParams(name="acme")) is None


def test_app_tenant_stats_uses_the_fair_share_window(backend_url: str, jobs: Jobs) -> None:
    job = jobs.running(tenant="acme")
    jobs.finish(success(job), now=at(10))
    app = Workhorse(backend_url, clock=lambda: at(20), fair_share_window=timedelta(seconds=10))
    try:
        [stats] = app.tenant_stats()
    finally:
        app.close()
    assert stats.usage == pytest.approx(10.0 / math.e)


def test_app_refuses_a_fair_share_window_that_is_not_positive() -> None:
    with pytest.raises(ConfigurationError):
        Workhorse("sqlite:///unused.db", fair_share_window=timedelta(0))
