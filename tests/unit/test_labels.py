"""Bounded label values: a counter's budget of queue names, and the top N of a gauge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.observability.gauges import GaugeSettings, summarise
from workhorse.observability.labels import OTHER, LabelBudget, top
from workhorse.observability.metrics import AppMetrics


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_values_get_places_and_the_rest_share_other() -> None:
    budget = LabelBudget(2, clock=Ticks())
    assert [budget.admit(v) for v in ("a", "b", "c", "a", "d")] == ["a", "b", OTHER, "a", OTHER]


def test_a_value_named_other_never_takes_a_place() -> None:
    budget = LabelBudget(2, clock=Ticks())
    assert [budget.admit(v) for v in (OTHER, "a", "b")] == [OTHER, "a", "b"]


def test_idle_values_give_their_place_up() -> None:
    ticks = Ticks()
    budget = LabelBudget(2, idle=timedelta(seconds=60), clock=ticks)
    budget.admit("a")
    budget.admit("b")
    ticks.now = 50
    budget.admit("b")
    ticks.now = 100
    assert budget.sweep() == ["a"]
    assert budget.admit("c") == "c"
    assert budget.admit("a") == OTHER


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        LabelBudget(-1)


def test_top_ranks_by_value_then_name_and_never_picks_other() -> None:
    assert top({"b": 5, "a": 5, "c": 1, OTHER: 99}, 2) == {"a", "b"}
    assert top({"a": 1}, 0) == set()


def _enqueued(metrics: AppMetrics) -> dict[str, float]:
    """``workhorse_jobs_enqueued_total`` by queue, as scraped."""
    return {
        sample.labels["queue"]: sample.value
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for sample in family.samples
        if sample.name == "workhorse_jobs_enqueued_total"
    }


def _job(queue: str) -> b.NewJob:
    return b.NewJob(
        tenant="acme", queue=queue, task="t", args_json="[]", kwargs_json="{}", priority=0,
        run_at=datetime(2030, 1, 1, tzinfo=UTC), state=JobState.QUEUED, max_attempts=1,
        timeout=None, unique_key=None,
    )  # fmt: skip


def test_enqueues_beyond_the_queue_budget_are_counted_as_other() -> None:
    metrics = AppMetrics(max_queues=2)
    rows = [_job(q) for q in ("a", "b", "c", "d", "a")]
    metrics.enqueued(rows, [b.InsertedJob(id=n, created=True) for n in range(5)])
    assert _enqueued(metrics) == {"a": 2, "b": 1, OTHER: 2}


def test_only_the_busiest_queues_get_gauge_series() -> None:
    groups = [
        b.JobGroupStats(tenant="acme", queue=f"q{n}", state=JobState.QUEUED, count=n)
        for n in range(1, 6)
    ]
    snapshot = b.MetricsSnapshot(groups=groups, workers=0, slots=0)
    queue_jobs, _, _, _ = summarise(snapshot, GaugeSettings(top_queues=2))
    assert {queue for queue, _ in queue_jobs} == {"q5", "q4", OTHER}
    assert queue_jobs[(OTHER, JobState.QUEUED)] == 1 + 2 + 3
    assert queue_jobs[(OTHER, JobState.RUNNING)] == 0
