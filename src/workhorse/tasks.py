"""Tasks: decorated functions that can be enqueued as jobs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from workhorse.errors import ConfigurationError
from workhorse.jobs import JobHandle
from workhorse.retry import RetryPolicy
from workhorse.serialization import check_json
from workhorse.sizes import Size, to_bytes
from workhorse.types import JSON

if TYPE_CHECKING:
    from workhorse.app import Workhorse

P = ParamSpec("P")
R = TypeVar("R")

_MAX_SECONDS = 100 * 365 * 24 * 3600.0
_INT32 = 2**31 - 1

Duration = timedelta | float
"""A duration: a timedelta, or a number of seconds."""


class Isolation(StrEnum):
    """Where a job's code runs."""

    INLINE = "inline"
    """In the worker process: async tasks on its event loop, sync tasks in a thread."""
    PROCESS = "process"
    """In one of the worker's pre-started child processes, with hard time and memory limits."""


def to_isolation(value: str | None) -> Isolation | None:
    """``value`` as an Isolation, or None; anything else is a ConfigurationError."""
    if value is None:
        return None
    try:
        return Isolation(value)
    except ValueError:
        choices = ", ".join(repr(i.value) for i in Isolation)
        raise ConfigurationError(f"isolation must be one of {choices}, got {value!r}") from None


def to_seconds(value: Duration | None, what: str) -> float | None:
    """Seconds of a positive duration, or None; anything else is a ConfigurationError."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        raise ConfigurationError(f"{what} must be a positive duration, got {value!r}")
    if not seconds <= _MAX_SECONDS:  # also refuses NaN
        raise ConfigurationError(f"{what} must be at most 100 years, got {value!r}")
    return float(seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOptions:
    """Per-call options; None means the task's default."""

    tenant: str | None = None
    queue: str | None = None
    priority: int | None = None
    delay: Duration | None = None
    run_at: datetime | None = None
    unique_key: str | None = None
    max_attempts: int | None = None
    timeout: Duration | None = None
    concurrency_key: str | None = None
    """Jobs of one tenant with this key run at most ``concurrency_limit`` at a time."""
    concurrency_limit: int | None = None
    isolation: Isolation | str | None = None
    """Where the job runs (see ``Isolation``)."""
    memory_limit: Size | None = None
    """Process isolation: the most memory (RSS) the job may use, e.g. ``512MiB``."""
    after: Sequence[int | JobHandle] = ()
    """Parents (handles or job ids of the same tenant): the job runs once every one of them has
    succeeded. Stored as a tuple of ids."""
    on_parent_failure: str = "cancel"
    """What a parent that ends dead or cancelled does to this job: "cancel" it (and its own
    dependents), or "run" it anyway once every parent has ended."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "after", _parent_ids(self.after))
        if self.on_parent_failure not in {"cancel", "run"}:
            raise ConfigurationError(
                f'on_parent_failure must be "cancel" or "run", got {self.on_parent_failure!r}'
            )
        self._check_fields()

    def _check_fields(self) -> None:
        if self.delay is not None and self.run_at is not None:
            raise ConfigurationError("pass delay or run_at, not both")
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise ConfigurationError("run_at must be an aware datetime (e.g. tzinfo=UTC)")
        if self.delay is not None:
            to_seconds(self.delay, "delay")
        check_name(self.tenant, "tenant")
        check_name(self.queue, "queue")
        check_name(self.unique_key, "unique_key")
        if self.priority is not None and not _is_int(self.priority):
            raise ConfigurationError(f"priority must be an int, got {self.priority!r}")
        _check_attempts(self.max_attempts)
        to_seconds(self.timeout, "timeout")
        check_name(self.concurrency_key, "concurrency_key")
        if self.concurrency_limit is not None:
            if self.concurrency_key is None:
                raise ConfigurationError("concurrency_limit needs a concurrency_key")
            if not _is_int(self.concurrency_limit) or self.concurrency_limit < 1:
                raise ConfigurationError(
                    f"concurrency_limit must be an int >= 1, got {self.concurrency_limit!r}"
                )
        to_isolation(self.isolation)
        to_bytes(self.memory_limit, "memory_limit")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One job ready to enqueue: a task, its JSON arguments and options."""

    task: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    options: JobOptions = field(default_factory=JobOptions)


@dataclass(frozen=True, slots=True, kw_only=True)
class Idempotency:
    """Enqueue at most once per key: a repeat of the request (same ``scope``, ``key`` and
    ``request_hash``) within ``ttl`` of the first gets the first one's jobs back and creates
    nothing; the same key with another ``request_hash`` is refused."""

    scope: str
    """Who may see the key (e.g. a tenant); keys of different scopes never meet."""
    key: str
    request_hash: str
    """What makes two requests "the same", e.g. a hash of their canonical form."""
    ttl: timedelta
    """How long the key is remembered."""

    def __post_init__(self) -> None:
        if not self.key:
            raise ConfigurationError("an idempotency key must not be empty")
        if self.ttl <= timedelta(0):
            raise ConfigurationError("an idempotency key's ttl must be positive")


class Task(Generic[P, R]):
    """A function registered with an app. Calling it runs it directly; ``enqueue`` makes a job."""

    on_event: tuple[str, ...] = ()
    """Event types that enqueue this task (see ``workhorse.events.triggers``)."""

    def __init__(
        self,
        app: Workhorse,
        fn: Callable[P, R],
        *,
        name: str,
        queue: str,
        max_attempts: int,
        timeout: Duration | None,
        retry: RetryPolicy,
        priority: int,
        isolation: Isolation | str = Isolation.INLINE,
        memory_limit: Size | None = None,
        slots: int = 1,
    ) -> None:
        check_name(name, "task name")
        if not _is_int(slots) or slots < 1:
            raise ConfigurationError(f"slots must be an int >= 1, got {slots!r}")
        check_name(queue, "queue")
        _check_attempts(max_attempts)
        if not _is_int(priority):
            raise ConfigurationError(f"priority must be an int, got {priority!r}")
        self.app = app
        self.fn = fn
        self.name = name
        self.queue = queue
        self.max_attempts = max_attempts
        self.timeout = to_seconds(timeout, "timeout")
        self.retry = retry
        self.priority = priority
        self.isolation = to_isolation(isolation) or Isolation.INLINE
        self.memory_limit = to_bytes(memory_limit, "memory_limit")
        self.slots = slots
        """How many of a worker's concurrency slots one of its jobs takes."""
        self.is_async = inspect.iscoroutinefunction(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.queue}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def with_options(self, **options: Any) -> BoundTask[P, R]:
        """This task with per-call options (see JobOptions)."""
        return BoundTask(self, JobOptions(**options))

    def prepare(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        """A JobSpec for ``app.enqueue_many``."""
        return BoundTask(self, JobOptions()).prepare(*args, **kwargs)

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        """Enqueue one job; returns once it is durably stored."""
        return BoundTask(self, JobOptions()).enqueue(*args, **kwargs)

    async def enqueue_async(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        """``enqueue`` for async code: the database call runs in a thread."""
        return await BoundTask(self, JobOptions()).enqueue_async(*args, **kwargs)

    def enqueue_in(self, connection: object, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        """Enqueue inside the caller's open transaction (see ``BoundTask.enqueue_in``)."""
        return BoundTask(self, JobOptions()).enqueue_in(connection, *args, **kwargs)


class BoundTask(Generic[P, R]):
    """A task with per-call options, made by ``Task.with_options``."""

    def __init__(self, task: Task[P, R], options: JobOptions) -> None:
        self.task = task
        self.options = options

    def with_options(self, **options: Any) -> BoundTask[P, R]:
        return BoundTask(self.task, replace(self.options, **options))

    def prepare(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        return JobSpec(
            task=self.task.name,
            args=check_json(list(args), "args"),  # type: ignore[arg-type]
            kwargs=check_json(dict(kwargs), "kwargs"),  # type: ignore[arg-type]
            options=self.options,
        )

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        return self.task.app.enqueue_many([self.prepare(*args, **kwargs)])[0]

    def enqueue_in(self, connection: object, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        """Enqueue inside the caller's open transaction (PostgreSQL: a psycopg Connection);
        the job exists only if that transaction commits."""
        spec = self.prepare(*args, **kwargs)
        return self.task.app.enqueue_many([spec], connection=connection)[0]

    async def enqueue_async(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle:
        spec = self.prepare(*args, **kwargs)
        handles = await asyncio.to_thread(self.task.app.enqueue_many, [spec])
        return handles[0]


def _parent_ids(after: Sequence[int | JobHandle]) -> tuple[int, ...]:
    """Job ids of ``after``'s handles and ids; anything else is a ConfigurationError."""
    if isinstance(after, str | bytes) or not isinstance(after, Sequence | tuple | list):
        raise ConfigurationError("after must be a list of job handles or job ids")
    ids = tuple(p.id if isinstance(p, JobHandle) else p for p in after)
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        raise ConfigurationError(f"after must hold job handles or positive job ids, got {after!r}")
    return ids


def _is_int(value: object) -> bool:
    """A real int that fits a 32-bit column (priorities, limits, attempts)."""
    return isinstance(value, int) and not isinstance(value, bool) and -_INT32 - 1 <= value <= _INT32


def _check_attempts(value: int | None) -> None:
    if value is not None and (not _is_int(value) or value < 1):
        raise ConfigurationError(f"max_attempts must be an int >= 1, got {value!r}")


def check_name(value: str | None, what: str) -> None:
    """A name (tenant, queue, key…) must be non-empty text of at most 200 characters."""
    if value is None:
        return
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ConfigurationError(f"{what} must be a non-empty string of at most 200 characters")
    if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
        raise ConfigurationError(f"{what} must be valid text without NUL characters")
