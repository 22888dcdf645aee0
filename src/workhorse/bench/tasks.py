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


def specs(
    queue: str,
    count: int,
    job_ms: float,
    *,
    tenants: int = 1,
    first: int = 0,
    isolation: str = "inline",
) -> list[JobSpec]:
    """``count`` benchmark jobs for ``queue``: no-ops, or slot holders when ``job_ms`` > 0, in the
    worker (``inline``) or in its child processes (``process``). With several ``tenants``, job
    ``first + i`` goes to tenant ``bench-{(first + i) % tenants}`` (round-robin); with one, every
    job is the default tenant's."""
    if tenants == 1:
        return [_spec(queue, None, job_ms, isolation) for _ in range(count)]
    return [
        _spec(queue, f"bench-{(first + i) % tenants:06d}", job_ms, isolation) for i in range(count)
    ]


def _spec(queue: str, tenant: str | None, job_ms: float, isolation: str) -> JobSpec:
    options: dict[str, str] = {"queue": queue, "isolation": isolation}
    if tenant is not None:
        options["tenant"] = tenant
    if job_ms:
        return hold.with_options(**options).prepare(job_ms)
    return noop.with_options(**options).prepare()
