"""Dependencies and workflows with a real worker, on both databases: fan-out and fan-in, a chain,
a diamond, a dead parent, a cancel; waiting for results, many waiters through one watch; one
trace per workflow."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from pgtest import postgres_schema
from workhorse import JobState, Worker, WorkerConfig, Workhorse, current_job
from workhorse.errors import JobCancelledError, JobFailedError, WaitRefusedError
from workhorse.workflows import WorkflowState

app = Workhorse()
failing = threading.Event()
"""While set, ``flaky`` raises."""


@app.task
def produce(n: int) -> int:
    return n


def _number(value: object) -> int:
    assert isinstance(value, int)
    return value


@app.task
def double(n: int) -> int:
    return 2 * _number(current_job().parent_results["root"]) * n


@app.task
def total() -> int:
    return sum(_number(value) for value in current_job().parent_results.values())


@app.task(max_attempts=1)
def flaky() -> str:
    if failing.is_set():
        raise RuntimeError("flaky failed")
    return "ok"


@app.task
def wait_for_own_child() -> str:
    job = current_job()
    child = produce.with_options(after=[job.job_id]).enqueue(1)
    try:
        app.wait(child.id, timeout=1)
    except WaitRefusedError as exc:
        return str(exc)
    return "waited"


@pytest.fixture(params=["sqlite", "postgres"])
def wf_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workhorse]:
    failing.clear()
    app.close()
    if request.param == "sqlite":
        app.database_url = f"sqlite:///{tmp_path / 'workflows.db'}"
        app.migrate()
        yield app
        app.close()
        return
    with postgres_schema() as url:
        app.database_url = url
        app.migrate()
        yield app
        app.close()


@contextmanager
def running_worker(on: Workhorse, concurrency: int = 8) -> Iterator[Worker]:
    worker = Worker(on, WorkerConfig(concurrency=concurrency))
    thread = threading.Thread(target=lambda: asyncio.run(worker.run_async()), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(30)


def test_fan_out_and_fan_in_give_the_right_results(wf_app: Workhorse) -> None:
    with wf_app.workflow(tenant="acme", name="fan") as wf:
        root = wf.add(produce.prepare(3), key="root")
        parts = [wf.add(double.prepare(i), key=f"part-{i}", after=[root]) for i in range(30)]
        wf.add(total.prepare(), key="sum", after=parts)
    with running_worker(wf_app):
        assert wf.result(timeout=60) == {"sum": sum(6 * i for i in range(30))}
    assert wf.id is not None
    graph = wf_app.get_workflow(wf.id, tenant="acme")
    assert graph.workflow.state is WorkflowState.SUCCEEDED
    assert len(graph.steps) == 32
    assert len(graph.edges) == 60


def test_a_chain_of_fifty_runs_in_order(wf_app: Workhorse) -> None:
    handle = produce.enqueue(0)
    for _ in range(49):
        handle = total.with_options(after=[handle]).enqueue()
    with running_worker(wf_app):
        assert handle.result(timeout=60) == 0
    jobs = wf_app.list_jobs(limit=100)
    starts = [job.started_at for job in sorted(jobs, key=lambda job: job.id)]
    assert len(starts) == 50
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(starts))


def test_a_unique_key_match_returns_the_live_job_with_its_own_parents(wf_app: Workhorse) -> None:
    """The repeated enqueue's ``after`` adds no parent: the job runs although ``doomed`` dies."""
    failing.set()
    parent, doomed = produce.enqueue(4), flaky.enqueue()
    first = total.with_options(after=[parent], unique_key="merge").enqueue()
    again = total.with_options(after=[parent, doomed], unique_key="merge").enqueue()
    assert again.id == first.id
    with running_worker(wf_app):
        assert again.result(timeout=60) == 4
    assert wf_app.get_job(doomed.id).state is JobState.DEAD


def test_a_diamond_joins_both_branches(wf_app: Workhorse) -> None:
    with wf_app.workflow(name="diamond") as wf:
        top = wf.add(produce.prepare(5), key="root")
        left = wf.add(double.prepare(1), key="left", after=[top])
        right = wf.add(double.prepare(2), key="right", after=[top])
        wf.add(total.prepare(), key="bottom", after=[left, right])
    with running_worker(wf_app):
        assert wf.result(timeout=60) == {"bottom": 10 + 20}


def test_a_dead_parent_cancels_its_dependents_and_its_retry_reopens_them(
    wf_app: Workhorse,
) -> None:
    failing.set()
    root = flaky.enqueue()
    child = produce.with_options(after=[root]).enqueue(1)
    grandchild = produce.with_options(after=[child]).enqueue(2)
    cleanup = produce.with_options(after=[root], on_parent_failure="run").enqueue(3)
    with running_worker(wf_app):
        with pytest.raises(JobFailedError, match="flaky failed") as failed:
            root.result(timeout=60)
        assert failed.value.job.errors[0].message == "flaky failed"
        with pytest.raises(JobCancelledError, match=f"parent job {root.id} failed"):
            grandchild.result(timeout=60)
        assert cleanup.result(timeout=60) == 3
        failing.clear()
        wf_app.retry(root.id)
        assert grandchild.result(timeout=60) == 2
    assert wf_app.get_job(child.id).state is JobState.SUCCEEDED


def test_a_workflow_cancel_ends_it_cancelled(wf_app: Workhorse) -> None:
    failing.set()
    with wf_app.workflow(name="cancelled") as wf:
        first = wf.add(produce.prepare(1), key="first")
        wf.add(produce.prepare(2), key="second", after=[first])
    assert wf.id is not None
    workflow = wf_app.cancel_workflow(wf.id)
    assert workflow.state is WorkflowState.CANCELLED
    with pytest.raises(JobCancelledError):
        wf.result(timeout=5)


def test_a_task_cannot_wait_for_its_own_dependents(wf_app: Workhorse) -> None:
    handle = wait_for_own_child.enqueue()
    with running_worker(wf_app):
        assert "runs only after" in str(handle.result(timeout=60))


def test_a_wait_times_out(wf_app: Workhorse) -> None:
    handle = produce.enqueue(1)
    with pytest.raises(TimeoutError, match=f"job {handle.id} has not ended"):
        handle.result(timeout=0.2)


def test_twenty_waiters_on_one_job_all_get_its_result(wf_app: Workhorse) -> None:
    handle = produce.enqueue(42)
    results: list[object] = []
    waiters = [
        threading.Thread(target=lambda: results.append(handle.result(timeout=60)))
        for _ in range(20)
    ]
    for waiter in waiters:
        waiter.start()
    with running_worker(wf_app):
        for waiter in waiters:
            waiter.join(60)
    assert results == [42] * 20


def test_a_thousand_waiters_across_jobs_share_one_watch(wf_app: Workhorse) -> None:
    handles = wf_app.enqueue_many([produce.prepare(n) for n in range(1000)])

    async def wait_all() -> list[object]:
        return list(await asyncio.gather(*(h.result_async(timeout=120) for h in handles)))

    with running_worker(wf_app, concurrency=16):
        results = asyncio.run(wait_all())
        listening = _listening_connections(wf_app)
    assert results == list(range(1000))
    assert listening in {None, 1}, "one LISTEN connection serves every waiter"


def _listening_connections(on: Workhorse) -> int | None:
    """How many connections listen for ended jobs of the app's schema (None on SQLite)."""
    if not on.database_url.startswith("postgresql"):
        return None
    with psycopg.connect(on.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query = 'LISTEN ' || quote_ident('workhorse_ended.' || current_schema())"
        ).fetchone()
    return int(row[0]) if row else 0


def test_every_steps_run_span_is_a_child_of_the_workflows_submit_span(
    wf_app: Workhorse, exporter: InMemorySpanExporter
) -> None:
    with wf_app.workflow(tenant="acme", name="traced") as wf:
        root = wf.add(produce.prepare(3), key="root")
        parts = [wf.add(double.prepare(i), key=f"part-{i}", after=[root]) for i in range(3)]
        wf.add(total.prepare(), key="sum", after=parts)
    with running_worker(wf_app):
        assert wf.result(timeout=60) == {"sum": 18}
    finished = exporter.get_finished_spans()
    [submit] = [s for s in finished if s.name == "workhorse.workflow.submit"]
    assert submit.kind is SpanKind.PRODUCER
    assert submit.attributes == {
        "messaging.system": "workhorse",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": 5,
        "workhorse.workflow.id": wf.id,
        "workhorse.workflow.name": "traced",
        "workhorse.workflow.tenant": "acme",
        "workhorse.workflow.steps": 5,
    }
    runs = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert sorted(int(str((s.attributes or {})["workhorse.job.id"])) for s in runs) == [
        handle.id for handle in wf.handles
    ]
    for run in runs:
        assert run.context.trace_id == submit.context.trace_id
        assert run.parent is not None and run.parent.span_id == submit.context.span_id
