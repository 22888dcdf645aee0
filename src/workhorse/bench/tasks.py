"""Tasks the benchmark workers run."""

from __future__ import annotations

import asyncio

from workhorse.app import Workhorse

app = Workhorse()


@app.task(max_attempts=3)
async def noop() -> None:
    """Does nothing: measures the platform, not the work."""


@app.task(max_attempts=3)
async def hold(ms: float) -> None:
    """Holds a slot for ``ms`` milliseconds without using the CPU."""
    await asyncio.sleep(ms / 1000)
