"""The Workhorse app: configuration, the task registry and the job API.

The app is the only door to storage: the web, CLI and serve layers call its methods (and those of
``app.admin``, the operator's surface), never a backend directly.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar, overload

from workhorse.admin import Admin
from workhorse.backends import DEFAULT_DATABASE_URL, Backend, open_backend
from workhorse.backends import base as b
from workhorse.clock import utcnow
from workhorse.context import current_job_id
from workhorse.errors import (
    ConfigurationError,
    IdempotencyConflictError,
    InvalidTransitionError,
    JobNotFoundError,
    UnknownTaskError,
    WaitRefusedError,
    WorkflowNotFoundError,
)
from workhorse.events import triggers
from workhorse.events.dispatcher import DispatcherConfig
from workhorse.events.manage import Events
from workhorse.fairness import USAGE_WINDOW
from workhorse.jobs import Job, JobHandle, JobState
from workhorse.observability import tracing
from workhorse.observability.metrics import AppMetrics, Operation
from workhorse.redact import redact_url
from workhorse.retry import RetryPolicy
from workhorse.scheduling.cron import Schedule
from workhorse.serialization import check_json, dumps
from workhorse.sizes import Size, to_bytes
from workhorse.tasks import (
    Duration,
    Idempotency,
    Isolation,
    JobOptions,
    JobSpec,
    Task,
    to_isolation,
    to_seconds,
)
from workhorse.tenants import Tenant, TenantStats
from workhorse.types import JSON, Clock
from workhorse.waiting import Waiters, outcome
from workhorse.workflow_builder import WorkflowBuilder
from workhorse.workflows import Workflow, WorkflowState

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_TENANT = "default"
_TENANT_SETTINGS = {"weight", "max_running", "max_queued", "rate", "burst", "paused"}
DEFAULT_QUEUE = "default"


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The database schema's version, and the newest migration this Workhorse knows."""

    version: int
    latest: int


class Workhorse:
    """A Workhorse application.

    ``database_url`` defaults to ``$WORKHORSE_DATABASE_URL``, else ``sqlite:///./workhorse.db``.
    The database is opened on first use (or by ``open``), so importing a module that builds an
    app is cheap. The app's own methods are what application code needs: tasks, enqueueing,
    jobs and their state changes, tenants. What operators and the web and CLI layers need besides
    (workers, counts, stats, API keys) is ``app.admin``.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        clock: Clock = utcnow,
        default_tenant: str = DEFAULT_TENANT,
        default_queue: str = DEFAULT_QUEUE,
        default_max_attempts: int = 3,
        default_retry: RetryPolicy | None = None,
        fair_share_window: timedelta = USAGE_WINDOW,
    ) -> None:
        self.database_url = (
            database_url or os.environ.get("WORKHORSE_DATABASE_URL") or DEFAULT_DATABASE_URL
        )
        self.clock = clock
        self.default_tenant = default_tenant
        self.default_queue = default_queue
        if default_max_attempts < 1:
            raise ConfigurationError("default_max_attempts must be >= 1")
        self.default_max_attempts = default_max_attempts
        self.default_retry = default_retry or RetryPolicy()
        if fair_share_window <= timedelta(0):
            raise ConfigurationError("fair_share_window must be positive")
        self.fair_share_window = fair_share_window
        """Recent usage decays with this time constant; every process should use the same."""
        self.tasks: dict[str, Task[Any, Any]] = {}
        self.schedules: dict[str, Schedule] = {}
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()
        self.metrics = AppMetrics()
        """This app's metrics registry: jobs it enqueued, its database round trips."""
        self.admin = Admin(self)
        """The operator's surface: workers, queue counts, stats, API keys."""
        self.waiters = Waiters(lambda: self.backend)
        """Every wait of this app, served by one watch (see ``workhorse.waiting``)."""
        self.metrics.waiters = lambda: self.waiters.waiters
        self.events = Events(self)
        """Webhook endpoints and broker sinks, the delivery log, redelivery."""
        self.dispatcher_config: DispatcherConfig | None = None
        """How this app's workers deliver events (None: the defaults)."""

    def __repr__(self) -> str:
        return f"<Workhorse {redact_url(self.database_url)} tasks={sorted(self.tasks)}>"

    # -- storage -----------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The backend, opened (and on SQLite migrated) on first use. For the worker and the
        maintenance loops; the web and CLI layers use the app's methods."""
        return self._open(auto_migrate=None)

    def _open(self, *, auto_migrate: bool | None, create: bool = True) -> Backend:
        """The backend, opened now if it is not yet (``auto_migrate``, ``create``: see
        ``open_backend``)."""
        if self._backend is None:
            with self._backend_lock:
                if self._backend is None:
                    self._backend = open_backend(
                        self.database_url, auto_migrate=auto_migrate, create=create
                    )
        return self._backend

    def open(self, *, create: bool = True) -> None:
        """Open the database now (on SQLite, creating or upgrading its schema), so that a bad
        URL or an unreachable database fails here rather than at first use. Idempotent.

        Without ``create``, a SQLite file that does not exist is a DatabaseError and nothing is
        created: what a command that only reads or changes jobs wants, where a missing file is a
        mistyped path."""
        self._open(auto_migrate=None, create=create)

    def migrate(self) -> list[int]:
        """Create or upgrade the database schema (safe when several processes race); returns the
        migrations applied (none when this app had already opened, and so migrated, SQLite)."""
        return self._open(auto_migrate=False).migrate()

    def schema_status(self) -> SchemaStatus:
        """The schema's version and the newest this Workhorse knows: the database is ready for
        this code when they are equal. DatabaseError when the database cannot be read."""
        backend = self.backend
        return SchemaStatus(version=backend.schema_version(), latest=backend.schema_latest())

    def use_backend(self, backend: Backend) -> None:
        """Use an already opened backend (tests, embedding)."""
        self._backend = backend

    def detach_backend(self) -> None:
        """Forget the backend without closing it: in a forked process, whose inherited
        connections belong to its parent. The next use opens a backend of its own."""
        self._backend = None
        self._backend_lock = threading.Lock()

    def close(self) -> None:
        """Release the database's connections; the next use opens it again."""
        self.waiters.close()
        self.waiters = Waiters(lambda: self.backend)
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # -- the task registry -------------------------------------------------------------------

    @overload
    def task(self, fn: Callable[P, R]) -> Task[P, R]: ...

    @overload
    def task(
        self,
        *,
        name: str | None = None,
        queue: str | None = None,
        max_attempts: int | None = None,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        priority: int = 0,
        isolation: Isolation | str = Isolation.INLINE,
        memory_limit: Size | None = None,
        slots: int = 1,
        on_event: str | Sequence[str] | None = None,
    ) -> Callable[[Callable[P, R]], Task[P, R]]: ...

    def task(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        queue: str | None = None,
        max_attempts: int | None = None,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        priority: int = 0,
        isolation: Isolation | str = Isolation.INLINE,
        memory_limit: Size | None = None,
        slots: int = 1,
        on_event: str | Sequence[str] | None = None,
    ) -> Any:
        """Register a sync or async function as a task: ``@app.task`` or ``@app.task(...)``.

        ``isolation="process"`` runs its jobs in the worker's child processes, where a
        ``timeout`` and a ``memory_limit`` (e.g. ``"512MiB"``) are hard limits; ``slots`` is how
        many of a worker's concurrency slots one of its jobs takes. ``on_event``: event types
        that enqueue it (``app.emit``), called with the event."""
        subscribed = triggers.event_types(on_event)

        def register(func: Callable[..., Any]) -> Task[Any, Any]:
            task = Task(
                self,
                func,
                name=func.__name__ if name is None else name,
                queue=self.default_queue if queue is None else queue,
                max_attempts=self.default_max_attempts if max_attempts is None else max_attempts,
                timeout=timeout,
                retry=retry or self.default_retry,
                priority=priority,
                isolation=isolation,
                memory_limit=memory_limit,
                slots=slots,
            )
            task.on_event = subscribed
            if task.name in self.tasks:
                raise ConfigurationError(
                    f"a task named {task.name!r} is already registered; pass name=… to tell "
                    "them apart"
                )
            self.tasks[task.name] = task
            return task

        return register if fn is None else register(fn)

    def periodic(
        self,
        cron: str,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        options: JobOptions | None = None,
        name: str | None = None,
        **task_options: Any,
    ) -> Callable[[Callable[P, R]], Task[P, R]]:
        """Register a task and enqueue it at every slot of ``cron`` (5 fields) in ``timezone``.

        ``@app.periodic("*/5 * * * *")``; ``task_options`` are those of ``@app.task``. Exactly one
        job per slot however many processes run; missed slots are coalesced into one run.
        """

        def register(func: Callable[P, R]) -> Task[P, R]:
            task: Task[P, R] = self.task(name=name, **task_options)(func)
            self.schedule(task, cron, timezone=timezone, args=args, kwargs=kwargs, options=options)
            return task

        return register

    def schedule(
        self,
        task: Task[Any, Any],
        cron: str,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        options: JobOptions | None = None,
        name: str | None = None,
    ) -> Schedule:
        """Enqueue an existing task at every slot of ``cron``; ``name`` tells schedules of one
        task apart (default: the task's name)."""
        schedule = Schedule(
            name=name or task.name,
            cron=cron,
            timezone=timezone,
            task=task.name,
            args=check_json(list(args), "args"),  # type: ignore[arg-type]
            kwargs=check_json(dict(kwargs or {}), "kwargs"),  # type: ignore[arg-type]
            options=options or JobOptions(),
        )
        if schedule.name in self.schedules:
            raise ConfigurationError(f"a schedule named {schedule.name!r} already exists")
        self.schedules[schedule.name] = schedule
        return schedule

    def retry_policy_for(self, task_name: str) -> RetryPolicy:
        """The task's retry policy, or the app's default for a task this app does not know."""
        task = self.tasks.get(task_name)
        return task.retry if task is not None else self.default_retry

    def isolates_any(self) -> bool:
        """Whether a registered task runs in child processes by default."""
        return any(task.isolation is Isolation.PROCESS for task in self.tasks.values())

    def get_task(self, name: str) -> Task[Any, Any]:
        """The task registered under ``name``; UnknownTaskError (naming those known) if none."""
        try:
            return self.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise UnknownTaskError(f"unknown task {name!r} (registered: {known})") from None

    # -- jobs --------------------------------------------------------------------------------

    def enqueue_many(
        self,
        specs: Iterable[JobSpec],
        *,
        connection: object | None = None,
        idempotency: Idempotency | None = None,
    ) -> list[JobHandle]:
        """Enqueue many jobs in one transaction: all are stored, or none.

        With ``connection`` (PostgreSQL: an open psycopg Connection), the jobs are inserted in
        the caller's transaction and exist only if the caller commits it. With ``idempotency``,
        the jobs and the key's record are written in one transaction: a repeat within the key's
        ttl returns the first call's jobs (``replayed``) and stores nothing, and the key with
        another request hash is an IdempotencyConflictError.
        """
        if connection is not None and idempotency is not None:
            raise ConfigurationError("pass connection or idempotency, not both")
        now = self.clock()
        specs = list(specs)
        if not specs:
            return []
        with tracing.enqueue_span(len(specs), specs[0].task if len(specs) == 1 else None) as ctx:
            rows = [self.new_job(spec, now, trace_context=ctx) for spec in specs]
            with self.metrics.round_trip(Operation.ENQUEUE):
                stored = self._insert(rows, now, connection, idempotency)
        if (
            idempotency is not None
            and stored.replayed
            and stored.request_hash != idempotency.request_hash
        ):
            raise IdempotencyConflictError(
                f"idempotency key {idempotency.key!r} was used with a different request"
            )
        if not stored.replayed:
            self.metrics.enqueued(rows, stored.jobs)
        return [JobHandle(row.id, row.created, stored.replayed, self) for row in stored.jobs]

    def _insert(
        self,
        rows: list[b.NewJob],
        now: datetime,
        connection: object | None,
        idempotency: Idempotency | None,
    ) -> b.IdempotencyRecord:
        """Insert ``rows``, under ``idempotency``'s key when given (see ``idempotency_insert``;
        a plain insert is never a replay)."""
        if idempotency is None:
            params = b.JobInsertManyParams(jobs=rows, now=now, connection=connection)
            inserted = self.backend.job_insert_many(params)
            return b.IdempotencyRecord(request_hash="", jobs=inserted, replayed=False)
        return self.backend.idempotency_insert(
            b.IdempotencyInsertParams(
                scope=idempotency.scope,
                key=idempotency.key,
                request_hash=idempotency.request_hash,
                jobs=rows,
                now=now,
                expires_at=now + idempotency.ttl,
            )
        )

    async def enqueue_many_async(self, specs: Iterable[JobSpec]) -> list[JobHandle]:
        """``enqueue_many`` for async code: the database call runs in a thread."""
        return await asyncio.to_thread(self.enqueue_many, list(specs))

    def enqueue(
        self,
        task: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> JobHandle:
        """Enqueue a registered task by name (as the CLI and HTTP API do)."""
        return self.get_task(task).with_options(**options).enqueue(*args, **(kwargs or {}))

    def emit(
        self,
        event_type: str,
        data: Any = None,
        *,
        tenant: str | None = None,
        event_id: str | None = None,
    ) -> b.ReceivedEvent:
        """An event in: one job per task subscribed to ``event_type`` (``on_event``), stored
        with the event id in one transaction. The same (tenant, event id) again enqueues
        nothing and returns the first call's jobs (``created`` False)."""
        return triggers.emit(self, event_type, data, tenant=tenant, event_id=event_id)

    def new_job(
        self, spec: JobSpec, now: datetime, *, trace_context: str | None = None
    ) -> b.NewJob:
        """The row ``spec`` becomes when enqueued at ``now``, task defaults applied;
        ``trace_context`` is the enqueuer's (see ``workhorse.observability.tracing``)."""
        task = self.get_task(spec.task)
        opts = spec.options
        run_at = opts.run_at or now
        if opts.delay is not None:
            run_at = now + timedelta(seconds=to_seconds(opts.delay, "delay") or 0)
        timeout = to_seconds(opts.timeout, "timeout") if opts.timeout is not None else task.timeout
        return b.NewJob(
            tenant=opts.tenant or self.default_tenant,
            queue=opts.queue or task.queue,
            task=task.name,
            args_json=dumps(spec.args, "args"),
            kwargs_json=dumps(spec.kwargs, "kwargs"),
            priority=task.priority if opts.priority is None else opts.priority,
            run_at=run_at,
            state=_initial_state(opts, run_at, now),
            max_attempts=task.max_attempts if opts.max_attempts is None else opts.max_attempts,
            timeout=timeout,
            unique_key=opts.unique_key,
            concurrency_key=opts.concurrency_key,
            concurrency_limit=(
                opts.concurrency_limit or 1 if opts.concurrency_key is not None else None
            ),
            trace_context=trace_context,
            isolation=to_isolation(opts.isolation),
            memory_limit=to_bytes(opts.memory_limit, "memory_limit"),
            after=[p.id if isinstance(p, JobHandle) else p for p in opts.after],
            run_on_parent_failure=opts.on_parent_failure == "run",
        )

    def get_job(self, job_id: int, *, tenant: str | None = None) -> Job:
        """The job with this id (of this tenant, when given); JobNotFoundError otherwise."""
        job = self.backend.job_get(b.JobGetParams(id=job_id, tenant=tenant))
        if job is None:
            raise JobNotFoundError(f"job {job_id} not found")
        return job

    def list_jobs(
        self,
        *,
        tenant: str | None = None,
        states: Sequence[JobState] = (),
        queue: str | None = None,
        task: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Job]:
        """Jobs, newest first; page with ``before_id`` set to the last id seen."""
        return self.backend.job_list(
            b.JobListParams(
                tenant=tenant,
                states=states,
                queue=queue,
                task=task,
                before_id=before_id,
                limit=limit,
            )
        )

    def cancel(self, job_id: int, *, tenant: str | None = None) -> Job:
        """Cancel a job that has not ended (cancelling a cancelled job is a no-op); a running job
        is interrupted at its worker's next heartbeat. InvalidTransitionError if it had ended."""
        change = self.backend.job_cancel(
            b.JobCancelParams(id=job_id, tenant=tenant, now=self.clock())
        )
        return _changed(
            job_id, change, "is {state} and can no longer be cancelled", done=JobState.CANCELLED
        )

    def retry(self, job_id: int, *, tenant: str | None = None) -> Job:
        """Requeue a dead job with a fresh budget of attempts. Returns the job;
        InvalidTransitionError if it is not dead."""
        change = self.backend.job_retry(
            b.JobRetryParams(id=job_id, tenant=tenant, now=self.clock())
        )
        return _changed(job_id, change, "is {state}; only dead jobs can be retried")

    def discard(self, job_id: int, *, tenant: str | None = None) -> Job:
        """Cancel a dead job so that it never runs again, keeping its errors and when it died
        (discarding a discarded job is a no-op). InvalidTransitionError if it is not dead."""
        change = self.backend.job_discard(
            b.JobDiscardParams(id=job_id, now=self.clock(), tenant=tenant)
        )
        return _changed(
            job_id, change, "is {state}; only dead jobs can be discarded", done=JobState.CANCELLED
        )

    # -- waiting for results -----------------------------------------------------------------

    def wait(self, job_id: int, *, timeout: float = 30.0, tenant: str | None = None) -> Job:
        """The job once it has ended (succeeded, dead or cancelled). TimeoutError when it has not
        within ``timeout`` seconds; JobNotFoundError; WaitRefusedError from inside a task for a
        job that depends on the task's own job (it could never end while the task waits)."""
        self._refuse_waiting_on_own_dependents(job_id)
        return self.waiters.wait(job_id, timeout, lambda: self.get_job(job_id, tenant=tenant))

    async def wait_async(
        self, job_id: int, *, timeout: float = 30.0, tenant: str | None = None
    ) -> Job:
        """``wait`` for async code."""
        await asyncio.to_thread(self._refuse_waiting_on_own_dependents, job_id)
        read = functools.partial(self.get_job, job_id, tenant=tenant)
        return await self.waiters.wait_async(job_id, timeout, read)

    def result(self, job_id: int, *, timeout: float = 30.0, tenant: str | None = None) -> JSON:
        """The job's result once it has succeeded; JobFailedError (carrying the job and every
        attempt's error) when it is dead, JobCancelledError when cancelled, and ``wait``'s
        errors."""
        return outcome(self.wait(job_id, timeout=timeout, tenant=tenant))

    async def result_async(
        self, job_id: int, *, timeout: float = 30.0, tenant: str | None = None
    ) -> JSON:
        """``result`` for async code."""
        return outcome(await self.wait_async(job_id, timeout=timeout, tenant=tenant))

    def _refuse_waiting_on_own_dependents(self, job_id: int) -> None:
        running = current_job_id()
        if running is None:
            return
        params = b.JobHasAncestorParams(id=job_id, ancestor=running)
        if job_id == running or self.backend.job_has_ancestor(params):
            raise WaitRefusedError(
                f"job {running} cannot wait for job {job_id}: job {job_id} runs only after "
                f"job {running} has ended"
            )

    def parent_results(self, job_id: int) -> dict[str | int, Any]:
        """The results of the job's parents, by step key (by job id for a parent without one)."""
        parents = self.backend.job_parent_results(b.JobParentResultsParams(id=job_id))
        return {p.step_key if p.step_key is not None else p.id: p.result for p in parents}

    # -- workflows ---------------------------------------------------------------------------

    def workflow(self, *, name: str, tenant: str | None = None) -> WorkflowBuilder:
        """A workflow to build: ``with app.workflow(name=…) as wf: wf.add(…)``; submitted in one
        transaction when the block ends without an error."""
        return WorkflowBuilder(self, tenant=tenant or self.default_tenant, name=name)

    def get_workflow(self, workflow_id: int, *, tenant: str | None = None) -> b.WorkflowGraph:
        """A workflow with its steps and edges; WorkflowNotFoundError otherwise."""
        found = self.backend.workflow_get(b.WorkflowGetParams(id=workflow_id, tenant=tenant))
        if found is None:
            raise WorkflowNotFoundError(f"workflow {workflow_id} not found")
        return found

    def list_workflows(
        self,
        *,
        tenant: str | None = None,
        states: Sequence[WorkflowState] = (),
        name: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Workflow]:
        """Workflows, newest first; page with ``before_id`` set to the last id seen."""
        params = b.WorkflowListParams(
            tenant=tenant, states=states, name=name, before_id=before_id, limit=limit
        )
        return self.backend.workflow_list(params)

    def cancel_workflow(self, workflow_id: int, *, tenant: str | None = None) -> Workflow:
        """Cancel every step that has not ended; the workflow as it then stands."""
        params = b.WorkflowCancelParams(id=workflow_id, tenant=tenant, now=self.clock())
        found = self.backend.workflow_cancel(params)
        if found is None:
            raise WorkflowNotFoundError(f"workflow {workflow_id} not found")
        return found

    def retry_workflow(self, workflow_id: int, *, tenant: str | None = None) -> Workflow:
        """Retry the failed steps: every dead step is requeued, the steps its failure cancelled
        re-open, and the workflow runs again; the workflow as it then stands."""
        params = b.WorkflowRetryParams(id=workflow_id, tenant=tenant, now=self.clock())
        found = self.backend.workflow_retry(params)
        if found is None:
            raise WorkflowNotFoundError(f"workflow {workflow_id} not found")
        return found

    # -- tenants -----------------------------------------------------------------------------

    def get_tenant(self, name: str) -> Tenant:
        """A tenant's configuration (the defaults for a tenant never configured)."""
        found = self.backend.tenant_get(b.TenantGetParams(name=name))
        return found if found is not None else Tenant(name=name)

    def set_tenant(self, name: str, **changes: Any) -> Tenant:
        """Change some of a tenant's settings (weight, max_running, max_queued, rate, burst,
        paused); the others keep their values. Returns the tenant as stored."""
        unknown = set(changes) - _TENANT_SETTINGS
        if unknown:
            raise ConfigurationError(f"unknown tenant settings: {sorted(unknown)}")
        tenant = replace(self.get_tenant(name), **changes)
        return self.backend.tenant_upsert(b.TenantUpsertParams(tenant=tenant, now=self.clock()))

    def pause_tenant(self, name: str) -> Tenant:
        """Start nothing more of this tenant until resumed (running jobs finish)."""
        return self.set_tenant(name, paused=True)

    def resume_tenant(self, name: str) -> Tenant:
        """Start this tenant's jobs again after ``pause_tenant``."""
        return self.set_tenant(name, paused=False)

    def tenant_stats(self) -> list[TenantStats]:
        """Every tenant with its running, waiting and recently started jobs and usage."""
        params = b.TenantStatsParams(now=self.clock(), usage_window=self.fair_share_window)
        return self.backend.tenant_stats(params)

    async def run_async(self, fn: Callable[..., R], *args: Any) -> R:
        """Run a blocking app method in a thread: ``await app.run_async(app.get_job, 42)``."""
        return await asyncio.to_thread(fn, *args)


def _initial_state(opts: JobOptions, run_at: datetime, now: datetime) -> JobState:
    """Blocked when the job has parents (its link settles it); else scheduled or queued."""
    if opts.after:
        return JobState.BLOCKED
    return JobState.SCHEDULED if run_at > now else JobState.QUEUED


def _changed(
    job_id: int, change: b.JobChange | None, refusal: str, *, done: JobState | None = None
) -> Job:
    """The job a state change left: JobNotFoundError when there is none, InvalidTransitionError
    (``job <id> <refusal>``, ``{state}`` filled in) when the change was refused, unless the job is
    already ``done`` (repeating the change is a no-op)."""
    if change is None:
        raise JobNotFoundError(f"job {job_id} not found")
    if not change.changed and change.job.state is not done:
        raise InvalidTransitionError(f"job {job_id} " + refusal.format(state=change.job.state))
    return change.job
