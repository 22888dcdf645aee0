"""Worker settings, checked eagerly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from workhorse.errors import ConfigurationError

MAX_HEARTBEAT_INTERVAL = timedelta(seconds=2)
"""The default heartbeat interval: a third of the lease, but never longer than this."""


class DispatchMode(StrEnum):
    """Where a worker delivers the outbox's events from."""

    PROCESS = "process"
    """A ``workhorse dispatch`` child of the worker, started once some destination exists: its
    CPU is not the jobs'. On SQLite (one writer) the same as ``INLINE``."""
    INLINE = "inline"
    """The worker's own event loop (on SQLite, only while it leads maintenance)."""
    OFF = "off"
    """Nowhere: ``workhorse dispatch`` processes (or ``serve``'s) deliver them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerConfig:
    """How one worker process runs.

    ``lease`` is how long a claim stays valid without a heartbeat; a worker that dies is noticed
    within about ``lease``. ``grace`` is how long SIGTERM waits for running jobs before handing
    them back. ``burst`` exits once its claims find nothing runnable, nothing runs here, and no job
    in ``queues`` waits for a retry (jobs of paused tenants or tenants at a quota are left).
    """

    concurrency: int = 10
    queues: tuple[str, ...] = ("default",)
    burst: bool = False
    lease: timedelta = timedelta(seconds=30)
    heartbeat_interval: timedelta | None = None
    """How often leases are extended; None: a third of the lease, at most 2 s (``heartbeat``
    is the interval in force)."""
    poll_interval: timedelta = timedelta(milliseconds=50)
    grace: timedelta = timedelta(seconds=10)
    batch_size: int | None = None
    """Most jobs claimed at once; defaults to ``concurrency`` plus ``prefetch``."""
    prefetch: int | None = None
    """Jobs claimed ahead of free slots while recent jobs are short (defaults to
    ``concurrency``): with jobs of a millisecond, a worker would otherwise sit idle through every
    claim's round trip. Long jobs are never claimed ahead, so they do not wait behind each other
    while another worker is idle."""
    prefetch_below: timedelta = timedelta(milliseconds=20)
    """Claim ahead only while the recent mean run time of jobs is below this."""
    completion_batch: int = 500
    completion_delay: timedelta = timedelta(milliseconds=2)
    """How long the completer waits for more outcomes before writing a batch."""
    maintenance: bool = True
    """Take part in the leader election that runs the reaper, promoter and pruner."""
    dispatch: DispatchMode = DispatchMode.PROCESS
    """Where this worker delivers the outbox's events from (nowhere without ``maintenance``)."""
    worker_id: str | None = None
    parent_pid: int | None = None
    """Stop gracefully when this process (a supervisor) is gone."""
    processes: int | None = None
    """Child processes for process-isolated jobs; None: the number of CPUs."""
    max_jobs_per_child: int | None = None
    """Replace a child after this many jobs (None: never)."""
    max_memory_per_child: int | None = None
    """Replace a child whose RSS after a job is above this many bytes (None: never)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigurationError(f"concurrency must be >= 1, got {self.concurrency}")
        if not self.queues or any(not q for q in self.queues):
            raise ConfigurationError("queues must be a non-empty list of queue names")
        if self.lease <= timedelta(0):
            raise ConfigurationError("lease must be positive")
        if not timedelta(0) < self.heartbeat < self.lease / 2:
            raise ConfigurationError("heartbeat_interval must be positive and under half the lease")
        if self.poll_interval <= timedelta(0):
            raise ConfigurationError("poll_interval must be positive")
        if self.grace < timedelta(0):
            raise ConfigurationError("grace must not be negative")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigurationError("batch_size must be >= 1")
        if self.prefetch is not None and self.prefetch < 0:
            raise ConfigurationError("prefetch must be >= 0")
        if self.completion_batch < 1:
            raise ConfigurationError("completion_batch must be >= 1")
        self._check_processes()
        object.__setattr__(self, "dispatch", _dispatch_mode(self.dispatch))

    def _check_processes(self) -> None:
        if self.processes is not None and self.processes < 1:
            raise ConfigurationError(f"processes must be >= 1, got {self.processes}")
        if self.max_jobs_per_child is not None and self.max_jobs_per_child < 1:
            raise ConfigurationError("max_jobs_per_child must be >= 1")
        if self.max_memory_per_child is not None and self.max_memory_per_child < 1:
            raise ConfigurationError("max_memory_per_child must be positive")

    @property
    def heartbeat(self) -> timedelta:
        """The heartbeat interval in force: ``heartbeat_interval``, or derived from the lease."""
        if self.heartbeat_interval is not None:
            return self.heartbeat_interval
        return min(MAX_HEARTBEAT_INTERVAL, self.lease / 3)

    @property
    def process_count(self) -> int:
        """Child processes in force: ``processes``, or the number of CPUs."""
        return self.processes or os.cpu_count() or 1

    @property
    def prefetch_limit(self) -> int:
        return self.concurrency if self.prefetch is None else self.prefetch

    @property
    def claim_limit(self) -> int:
        return self.batch_size or self.concurrency + self.prefetch_limit


def _dispatch_mode(value: object) -> DispatchMode:
    """``dispatch`` as a DispatchMode: its name, or (as before there were modes) a bool, True
    for the default and False for none."""
    if isinstance(value, bool):
        return DispatchMode.PROCESS if value else DispatchMode.OFF
    try:
        return DispatchMode(str(value))
    except ValueError:
        names = ", ".join(mode.value for mode in DispatchMode)
        raise ConfigurationError(f"dispatch must be one of {names}; got {value!r}") from None
