"""Tasks the benchmark workers run."""

from __future__ import annotations

import asyncio

from workhorse.app import Workhorse
from workhorse.tasks import JobSpec

app = Workhorse()


@app.task(max_attempts=3)
async def noop() -> None:
    """Does nothing: measures the platform, not the work."""


@app.task(max_attempts=3)
async def hold(ms: float) -> None:
    """Holds a slot for ``ms`` milliseconds without using the CPU."""
    await asyncio.sleep(ms / 1000)


def specs(queue: str, count: int, job_ms: float, isolation: str = "inline") -> list[JobSpec]:
    """``count`` benchmark jobs for ``queue``: no-ops, or slot holders when ``job_ms`` > 0; in
    the worker (``inline``) or in its child processes (``process``)."""
    if job_ms:
        holder = hold.with_options(queue=queue, isolation=isolation)
        return [holder.prepare(job_ms) for _ in range(count)]
    bound = noop.with_options(queue=queue, isolation=isolation)
    return [bound.prepare() for _ in range(count)]
