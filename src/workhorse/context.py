"""What a running task can learn about its job: ``workhorse.current_job()``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from workhorse.errors import WorkhorseError
from workhorse.serialization import check_json
from workhorse.types import JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    """The job a task is running for.

    ``cancelled`` is set when the job is cancelled or its lease is lost while it runs; async tasks
    are also interrupted with ``CancelledError``, while a sync task (which cannot be interrupted)
    may poll it to stop early.
    """

    job_id: int
    attempt: int
    max_attempts: int
    tenant: str
    queue: str
    task: str
    worker_id: str
    deadline: datetime | None
    _report: Callable[[int, JSON], None] = lambda job_id, value: None
    _cancelled: threading.Event | None = field(default=None, repr=False)
    _parents: Callable[[int], dict[str | int, JSON]] | None = field(default=None, repr=False)

    @property
    def cancelled(self) -> threading.Event:
        """Set when the job is cancelled or its lease lost (made on first use: most jobs never
        look, and an Event per job is a measurable part of a no-op job's cost)."""
        event = self._cancelled
        if event is None:
            with _EVENTS:
                event = self._cancelled
                if event is None:
                    event = threading.Event()
                    object.__setattr__(self, "_cancelled", event)
        return event

    @property
    def parent_results(self) -> dict[str | int, JSON]:
        """The results of this job's parents (``after=``), by step key, or by job id for a
        parent without one; read from the database on each use (empty without parents)."""
        return {} if self._parents is None else self._parents(self.job_id)

    def report_progress(self, value: JSON) -> None:
        """Store a JSON progress value on the job (written in the next batch, last one wins)."""
        self._report(self.job_id, check_json(value, "progress"))


_EVENTS = threading.Lock()
_current: ContextVar[JobContext] = ContextVar("workhorse_current_job")


def current_job_id() -> int | None:
    """The id of the job this code runs for, or None outside a job."""
    context = _current.get(None)
    return None if context is None else context.job_id


def current_job() -> JobContext:
    """The context of the job this code runs for; raises outside a job."""
    try:
        return _current.get()
    except LookupError:
        raise WorkhorseError("current_job() called outside a running job") from None
