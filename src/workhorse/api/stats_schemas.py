"""Response bodies of ``/v1/stats`` and ``/v1/me``: what the dashboard reads besides jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workhorse.api.schemas import WorkerOut


class StatsBucketOut(BaseModel):
    start: datetime
    finished: int = 0
    succeeded: int = 0
    dead: int = 0
    cancelled: int = 0
    wait_p50: float | None = Field(default=None, description="Median wait, in seconds.")
    wait_p95: float | None = Field(default=None, description="95th percentile wait, in seconds.")


class StatsOut(BaseModel):
    window: int = Field(description="Seconds covered.")
    bucket: int = Field(description="Seconds per bucket.")
    since: datetime
    until: datetime
    tenant: str | None = Field(description="The tenant counted; null for every tenant.")
    buckets: list[StatsBucketOut] = Field(description="Oldest first, empty buckets included.")


class WorkerLoadOut(WorkerOut):
    running: int = Field(description="Jobs this worker runs now.")
    utilisation: float = Field(description="running / concurrency.")


class WorkerLoadsOut(BaseModel):
    workers: list[WorkerLoadOut]


class MeOut(BaseModel):
    """The key a request was made with."""

    key_prefix: str
    admin: bool
    tenant: str | None = Field(description="The only tenant the key sees; null for admin keys.")


class AutoscaleOut(BaseModel):
    """How many workers the load needs (see docs/operations.md for the formula)."""

    desired_workers: int = Field(
        description="Workers to run: the target, up at once, down only after the cooldown."
    )
    target_workers: int = Field(description="What the load needs right now, before hysteresis.")
    current_workers: int = Field(description="Workers that heartbeat recently.")
    current_slots: int = Field(description="Their slots, summed.")
    slots_per_worker: int
    arrival_rate_per_s: float = Field(description="Jobs created per second over the window.")
    mean_run_seconds: float = Field(description="Mean run time of jobs finished in the window.")
    backlog: int = Field(description="Jobs ready to run and not running.")
    min_workers: int
    max_workers: int
    headroom: float
    drain_target_seconds: float
    cooldown_seconds: float
    window_seconds: float
    computed_at: datetime = Field(description="When the database was read for these numbers.")
    database_up: bool = Field(description="False: the last read failed; these are older numbers.")
