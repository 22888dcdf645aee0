"""Demo tasks for ``workhorse serve --demo``: a few tenants, varied run times, some failures."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

from workhorse.app import Workhorse
from workhorse.context import current_job
from workhorse.retry import RetryPolicy
from workhorse.tasks import JobSpec

app = Workhorse()

TENANTS = ("acme", "globex", "initech")


@app.task(max_attempts=3, retry=RetryPolicy(base=timedelta(milliseconds=500)))
def send_email(to: str) -> dict[str, str]:
    """Quick and sometimes flaky: about one in eight attempts fails."""
    time.sleep(random.uniform(0.005, 0.03))
    if random.random() < 0.125:
        raise ConnectionError(f"SMTP server refused {to}")
    return {"to": to, "status": "sent"}


@app.task
def resize_image(width: int, height: int) -> list[int]:
    """CPU-ish work of varying length."""
    time.sleep(random.uniform(0.02, 0.2))
    return [width // 2, height // 2]


@app.task(timeout=5)
async def build_report(pages: int) -> str:
    """Longer async work that reports progress."""
    job = current_job()
    for page in range(1, pages + 1):
        await asyncio.sleep(random.uniform(0.05, 0.2))
        job.report_progress({"page": page, "of": pages})
    return f"report with {pages} pages"


@app.task(max_attempts=2, retry=RetryPolicy(base=timedelta(milliseconds=200)))
def charge_card(amount_cents: int) -> None:
    """Always fails: shows dead-lettering."""
    raise ValueError(f"card declined for {amount_cents} cents")


def demo_batch(rng: random.Random) -> list[JobSpec]:
    """A few jobs from random tenants, as a steady trickle of traffic."""
    specs = []
    for _ in range(rng.randint(2, 8)):
        tenant = rng.choice(TENANTS)
        roll = rng.random()
        if roll < 0.45:
            spec = send_email.with_options(tenant=tenant).prepare(
                f"user{rng.randint(1, 999)}@{tenant}.example"
            )
        elif roll < 0.8:
            spec = resize_image.with_options(tenant=tenant).prepare(
                rng.randint(100, 4000), rng.randint(100, 4000)
            )
        elif roll < 0.97:
            spec = build_report.with_options(tenant=tenant, priority=1).prepare(rng.randint(2, 8))
        else:
            spec = charge_card.with_options(tenant=tenant).prepare(rng.randint(100, 99_999))
        specs.append(spec)
    return specs
