"""Turning a metrics snapshot into gauges: queue depth, bounded tenant series, the load."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict, Unpack

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.observability.autoscale import AutoscaleSettings
from workhorse.observability.gauges import GaugeSettings, summarise

S = JobState


class _WindowCounts(TypedDict, total=False):
    created: int
    due: int
    runs: int
    run_seconds: float


def _group(
    tenant: str, state: JobState, count: int, queue: str = "default", **more: Unpack[_WindowCounts]
) -> b.JobGroupStats:
    return b.JobGroupStats(tenant=tenant, queue=queue, state=state, count=count, **more)


def _snapshot(*groups: b.JobGroupStats, workers: int = 0, slots: int = 0) -> b.MetricsSnapshot:
    return b.MetricsSnapshot(groups=list(groups), workers=workers, slots=slots)


def test_queue_depth_is_summed_over_tenants_and_every_live_state_is_shown() -> None:
    queue_jobs, _, _, _ = summarise(
        _snapshot(
            _group("acme", S.QUEUED, 3),
            _group("globex", S.QUEUED, 4),
            _group("acme", S.RUNNING, 2, queue="mail"),
            _group("acme", S.BLOCKED, 5),
            _group("acme", S.SUCCEEDED, 100),  # ended in the window: not a depth
        ),
        GaugeSettings(),
    )
    assert queue_jobs == {
        ("default", S.SCHEDULED): 0,
        ("default", S.QUEUED): 7,
        ("default", S.RUNNING): 0,
        ("default", S.RETRYING): 0,
        ("default", S.BLOCKED): 5,
        ("mail", S.BLOCKED): 0,
        ("mail", S.SCHEDULED): 0,
        ("mail", S.QUEUED): 0,
        ("mail", S.RUNNING): 2,
        ("mail", S.RETRYING): 0,
    }


def test_only_the_busiest_tenants_get_series_and_the_rest_are_other() -> None:
    groups = [_group(f"t{i:02}", S.QUEUED, i) for i in range(1, 31)]
    groups += [_group("t01", S.RUNNING, 100), _group("t05", S.SCHEDULED, 2)]
    _, running, waiting, _ = summarise(_snapshot(*groups), GaugeSettings(top_tenants=3))
    # t01 has 1 + 100, t30 30, t29 29: those three; the other 27 tenants are summed.
    assert set(running) == set(waiting) == {"t01", "t30", "t29", "other"}
    assert running == {"t01": 100, "t30": 0, "t29": 0, "other": 0}
    assert waiting["other"] == sum(range(2, 29)) + 2
    assert (waiting["t01"], waiting["t30"]) == (1, 30)


def test_no_tenant_series_but_other_with_a_limit_of_zero() -> None:
    _, running, waiting, _ = summarise(
        _snapshot(_group("acme", S.RUNNING, 2), _group("acme", S.RETRYING, 1)),
        GaugeSettings(top_tenants=0),
    )
    assert (running, waiting) == ({"other": 2}, {"other": 1})


def test_the_load_the_autoscaler_sees() -> None:
    settings = GaugeSettings(autoscale=AutoscaleSettings(window=timedelta(seconds=30)))
    _, _, _, load = summarise(
        _snapshot(
            _group("acme", S.QUEUED, 40, created=30),
            _group("acme", S.SCHEDULED, 9, due=4, created=3),
            _group("acme", S.RETRYING, 2, due=1),
            _group("acme", S.SUCCEEDED, 10, created=27, runs=10, run_seconds=25.0),
            _group("acme", S.DEAD, 2, runs=2, run_seconds=11.0),
            workers=3,
            slots=24,
        ),
        settings,
    )
    assert load.arrival_rate == 60 / 30
    assert load.mean_run_seconds == 36 / 12
    assert load.backlog == 40 + 4 + 1
    assert load.slots_per_worker == 8


def test_an_idle_store_is_no_load() -> None:
    _, running, waiting, load = summarise(_snapshot(), GaugeSettings())
    assert (running, waiting) == ({"other": 0}, {"other": 0})
    assert (load.arrival_rate, load.mean_run_seconds, load.backlog) == (0, 0, 0)
    assert load.slots_per_worker == AutoscaleSettings().default_slots_per_worker
