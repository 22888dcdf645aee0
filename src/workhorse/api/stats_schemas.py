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
