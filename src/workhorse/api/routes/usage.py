"""``/v1/usage``: showback, what tenants, tasks or queues consumed over a window and its cost.

Read from the hourly roll-up (never the jobs table), so a month costs as many rows as it has
hours, tenants, tasks and queues. A tenant key sees its own tenant's usage only.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from workhorse.api.auth import App, Caller
from workhorse.api.types import Name
from workhorse.backends import base as b
from workhorse.usage import Prices, UsageBy, UsageTotal, totals

router = APIRouter(prefix="/usage", tags=["usage"])


class PricesOut(BaseModel):
    cpu_hour: float = Field(description="Price of a CPU-hour (WORKHORSE_PRICE_CPU_HOUR).")
    slot_hour: float = Field(description="Price of a worker slot-hour (WORKHORSE_PRICE_SLOT_HOUR).")


class UsageTotalOut(BaseModel):
    key: str = Field(description="The tenant, task or queue.")
    jobs: int = Field(description="Jobs that ended (succeeded or dead).")
    attempts: int = Field(description="Attempts that ended, retries included.")
    wall_seconds: float
    cpu_seconds: float
    worker_seconds: float = Field(description="Wall time times the worker slots held.")
    cost: float


class UsageHourOut(BaseModel):
    hour: str = Field(description="The hour's start (UTC, ISO 8601).")
    tenant: str
    worker_seconds: float
    cpu_seconds: float
    cost: float


class UsageOut(BaseModel):
    by: UsageBy
    since: str
    until: str
    tenant: str | None = Field(description="The tenant counted; null for every tenant.")
    prices: PricesOut
    totals: list[UsageTotalOut] = Field(description="Costliest first.")
    hours: list[UsageHourOut] = Field(description="Per tenant and hour, oldest first.")


@router.get("", response_model=UsageOut, operation_id="getUsage")
def usage(
    *,
    app: App,
    caller: Caller,
    since: Annotated[
        int, Query(ge=3600, le=92 * 86_400, description="Seconds back from now.")
    ] = 86_400,
    by: UsageBy = UsageBy.TENANT,
    tenant: Annotated[Name | None, Query(description="Admin keys only.")] = None,
) -> UsageOut:
    """Jobs, attempts, worker-seconds, CPU-seconds and cost per tenant, task or queue over the
    whole hours of the window, with each tenant's hours for charts."""
    scope = caller.tenant_filter(tenant)
    prices = Prices.from_env(os.environ)
    until = app.clock()
    start = until - timedelta(seconds=since)
    rows = app.admin.usage(since=start, until=until, tenant=scope)
    return UsageOut(
        by=by,
        since=start.isoformat(),
        until=until.isoformat(),
        tenant=scope,
        prices=PricesOut(cpu_hour=prices.cpu_hour, slot_hour=prices.slot_hour),
        totals=[_total_out(total) for total in totals(rows, by, prices)],
        hours=_hours(rows, prices),
    )


def _total_out(total: UsageTotal) -> UsageTotalOut:
    return UsageTotalOut(
        key=total.key,
        jobs=total.jobs,
        attempts=total.attempts,
        wall_seconds=total.wall_seconds,
        cpu_seconds=total.cpu_seconds,
        worker_seconds=total.worker_seconds,
        cost=total.cost,
    )


def _hours(rows: list[b.UsageRow], prices: Prices) -> list[UsageHourOut]:
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        acc = sums[(row.hour.isoformat(), row.tenant)]
        acc[0] += row.slot_seconds
        acc[1] += row.cpu_seconds
    return [
        UsageHourOut(
            hour=hour,
            tenant=tenant,
            worker_seconds=slots,
            cpu_seconds=cpu,
            cost=prices.cost(cpu_seconds=cpu, slot_seconds=slots),
        )
        for (hour, tenant), (slots, cpu) in sorted(sums.items())
    ]
