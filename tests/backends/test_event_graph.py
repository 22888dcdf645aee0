"""The outbox and the job graph: a workflow's end writes its event, and every job the graph
cancels (down from a failed or cancelled parent, or by a workflow's cancel) writes its own, each
exactly once and in the transaction that made the change."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.backends.ops import events, graph
from workhorse.jobs import JobState

from .support import Jobs, at, failure, new_job, success

S = JobState


def _subscribe(backend: Backend, types: tuple[str, ...] | None = None) -> None:
    params = b.DestinationInsertParams(
        tenant="acme",
        kind=b.DestinationKind.WEBHOOK,
        url="https://example.com/hook",
        options={},
        event_types=types,
        secrets=("whsec_one",),
        now=at(0),
    )
    backend.destination_insert(params)


def _events(backend: Backend) -> list[b.Event]:
    return backend.event_list(b.EventListParams(limit=10_000))


def _diamond(jobs: Jobs) -> tuple[int, dict[str, int]]:
    """A workflow top → (left, right) → bottom; returns its id and its steps' ids by key."""
    steps = [
        new_job(step_key="top"),
        new_job(step_key="left", after_steps=[0], state=S.BLOCKED),
        new_job(step_key="right", after_steps=[0], state=S.BLOCKED),
        new_job(step_key="bottom", after_steps=[1, 2], state=S.BLOCKED),
    ]
    params = b.WorkflowInsertParams(tenant="acme", name="wf", jobs=steps, now=at(0))
    inserted = jobs.backend.workflow_insert(params)
    keys = ["top", "left", "right", "bottom"]
    return inserted.id, {key: job.id for key, job in zip(keys, inserted.jobs, strict=True)}


def _run_all(jobs: Jobs, fail: int | None = None) -> None:
    """Claim and finish everything claimable until nothing is; job ``fail`` dies."""
    while claimed := jobs.claim(now=at(1)):
        jobs.finish(*(failure(j) if j.id == fail else success(j) for j in claimed), now=at(2))


def _counts(backend: Backend) -> Counter[tuple[int | None, str]]:
    """How many events each (job id, type) has; a workflow's under None."""
    return Counter((e.job_id, e.type) for e in _events(backend))


def _workflow_event(backend: Backend) -> dict[str, Any]:
    [event] = [e for e in _events(backend) if e.type.startswith("workflow.")]
    assert event.job_id is None and event.tenant == "acme" and isinstance(event.data, dict)
    return event.data


def test_a_workflow_that_succeeds_writes_one_event_after_its_steps(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    workflow_id, ids = _diamond(jobs)
    _run_all(jobs)
    found = _events(jobs.backend)
    assert [e.type for e in found] == ["job.succeeded"] * 4 + ["workflow.succeeded"]
    data = _workflow_event(jobs.backend)
    assert (data["id"], data["name"], data["state"]) == (workflow_id, "wf", "succeeded")
    assert (data["steps_total"], data["steps_left"], data["truncated"]) == (4, 0, [])
    assert data["finished_at"] is not None
    by_key = {step["key"]: step for step in data["steps"]}
    assert by_key["bottom"]["after"] == [ids["left"], ids["right"]]
    assert {step["state"] for step in data["steps"]} == {"succeeded"}
    assert [step["job_id"] for step in data["steps"]] == sorted(ids.values())


def test_a_failed_step_cancels_its_dependents_each_with_one_event(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    _, ids = _diamond(jobs)
    _run_all(jobs, fail=ids["left"])
    assert _counts(jobs.backend) == Counter(
        {
            (ids["top"], "job.succeeded"): 1,
            (ids["left"], "job.dead"): 1,
            (ids["right"], "job.succeeded"): 1,
            (ids["bottom"], "job.cancelled"): 1,
            (None, "workflow.failed"): 1,
        }
    )
    data = _workflow_event(jobs.backend)
    states = {step["key"]: step["state"] for step in data["steps"]}
    assert states == {
        "top": "succeeded",
        "left": "dead",
        "right": "succeeded",
        "bottom": "cancelled",
    }
    assert (data["steps_dead"], data["steps_cancelled"]) == (1, 1)


def test_a_dead_job_cancels_its_dependents_down_the_graph_each_once(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    parent = jobs.running()
    child = jobs.insert(after=[parent.id], state=S.BLOCKED)
    grandchild = jobs.insert(after=[child], state=S.BLOCKED)
    jobs.finish(failure(parent), now=at(1))
    assert _counts(jobs.backend) == Counter(
        {(parent.id, "job.dead"): 1, (child, "job.cancelled"): 1, (grandchild, "job.cancelled"): 1}
    )


def test_a_cancelled_job_cancels_its_dependents_each_once(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    parent = jobs.insert()
    child = jobs.insert(after=[parent], state=S.BLOCKED)
    grandchild = jobs.insert(after=[child], state=S.BLOCKED)
    jobs.backend.job_cancel(b.JobCancelParams(id=parent, now=at(1)))
    jobs.backend.job_cancel(b.JobCancelParams(id=child, now=at(2)))  # already cancelled
    found = _events(jobs.backend)
    assert [(e.job_id, e.type) for e in found] == [
        (parent, "job.cancelled"),
        (child, "job.cancelled"),
        (grandchild, "job.cancelled"),
    ]


def test_a_job_enqueued_after_a_failed_parent_is_cancelled_with_its_event(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    parent = jobs.in_state(S.DEAD)
    child = jobs.insert(after=[parent], state=S.BLOCKED)
    assert jobs.state(child) is S.CANCELLED
    assert _counts(jobs.backend)[(child, "job.cancelled")] == 1


def test_a_cancelled_workflow_writes_each_steps_event_and_its_own_once(jobs: Jobs) -> None:
    _subscribe(jobs.backend)
    workflow_id, ids = _diamond(jobs)
    [top] = jobs.claim(now=at(1))
    params = b.WorkflowCancelParams(id=workflow_id, now=at(3))
    jobs.backend.workflow_cancel(params)
    jobs.backend.workflow_cancel(params)  # nothing left to cancel: nothing more written
    assert jobs.finish(success(top), now=at(4)) == []  # fenced off: no event
    expected: Counter[tuple[int | None, str]] = Counter(
        (job_id, "job.cancelled") for job_id in ids.values()
    )
    expected[(None, "workflow.cancelled")] = 1
    assert _counts(jobs.backend) == expected
    assert _workflow_event(jobs.backend)["state"] == "cancelled"
    claim = b.DeliveryClaimParams(now=at(5), limit=100, lease=timedelta(seconds=30), token="t")
    claimed = jobs.backend.delivery_claim(claim)
    assert sorted(d.event.type for d in claimed) == ["job.cancelled"] * 4 + ["workflow.cancelled"]


def test_a_workflow_event_goes_only_to_subscribers_of_its_type(jobs: Jobs) -> None:
    _subscribe(jobs.backend, types=("job.dead", "workflow.failed"))
    _diamond(jobs)
    _run_all(jobs)
    assert _events(jobs.backend) == []
    _, ids = _diamond(jobs)
    _run_all(jobs, fail=ids["top"])
    assert sorted(e.type for e in _events(jobs.backend)) == ["job.dead", "workflow.failed"]
    assert len(jobs.backend.delivery_list(b.DeliveryListParams())) == 2


def test_a_workflow_event_bounds_its_steps(jobs: Jobs) -> None:
    _subscribe(jobs.backend, types=("workflow.cancelled",))
    steps = [new_job(step_key=f"step-{i:04d}-{'x' * 40}") for i in range(500)]
    params = b.WorkflowInsertParams(tenant="acme", name="big", jobs=steps, now=at(0))
    workflow_id = jobs.backend.workflow_insert(params).id
    jobs.backend.workflow_cancel(b.WorkflowCancelParams(id=workflow_id, now=at(1)))
    data = _workflow_event(jobs.backend)
    assert (data["steps"], data["truncated"], data["steps_cancelled"]) == (None, ["steps"], 500)


def test_a_rolled_back_workflow_cancel_writes_nothing(backend: Backend, jobs: Jobs) -> None:
    _subscribe(backend)
    workflow_id, _ = _diamond(jobs)
    store: Any = backend._store  # type: ignore[attr-defined]
    now = store.values.time(at(1))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        cancelled = tx.all("workflow_cancel_steps", {"id": workflow_id, "now": now})
        events.record(tx, [row["id"] for row in cancelled], now)
        graph.after_end(tx, [graph.ended(row, tx.values) for row in cancelled], at(1))
        raise RuntimeError("rolled back")
    assert _events(backend) == []
    found = backend.workflow_get(b.WorkflowGetParams(id=workflow_id))
    assert found is not None and found.workflow.state == "running"
