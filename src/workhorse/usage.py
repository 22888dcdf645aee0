"""Showback: what tenants, tasks and queues consumed, and what it cost.

Pure: fed the hourly roll-up's rows (``Backend.usage_list``) and the prices, it totals them by
tenant, task or queue. Prices are set once for a deployment, per CPU-hour and per slot-hour
(a worker slot held for an hour: the capacity a job kept from others, whether it used the CPU or
waited), from ``WORKHORSE_PRICE_CPU_HOUR`` and ``WORKHORSE_PRICE_SLOT_HOUR``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from workhorse.backends.base import UsageRow
from workhorse.errors import ConfigurationError

CPU_PRICE_ENV = "WORKHORSE_PRICE_CPU_HOUR"
SLOT_PRICE_ENV = "WORKHORSE_PRICE_SLOT_HOUR"


class UsageBy(StrEnum):
    TENANT = "tenant"
    TASK = "task"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prices:
    """What an hour of CPU and an hour of a worker slot cost (any currency; 0: not charged)."""

    cpu_hour: float = 0.0
    slot_hour: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("cpu_hour", self.cpu_hour), ("slot_hour", self.slot_hour)):
            if not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"price {name} must be a number >= 0, got {value!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Prices:
        """The prices in ``env`` (unset: 0); a price that is not a number is refused."""
        return cls(cpu_hour=_price(env, CPU_PRICE_ENV), slot_hour=_price(env, SLOT_PRICE_ENV))

    def cost(self, *, cpu_seconds: float, slot_seconds: float) -> float:
        return (cpu_seconds * self.cpu_hour + slot_seconds * self.slot_hour) / 3600


def _price(env: Mapping[str, str], name: str) -> float:
    text = env.get(name, "").strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {text!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageTotal:
    """One tenant's, task's or queue's usage over a window. ``worker_seconds`` are slot-seconds:
    wall time times the slots held."""

    key: str
    jobs: int
    attempts: int
    wall_seconds: float
    cpu_seconds: float
    worker_seconds: float
    cost: float


def totals(rows: Iterable[UsageRow], by: UsageBy, prices: Prices) -> list[UsageTotal]:
    """``rows`` summed per ``by``, costliest first (then by name)."""
    sums: dict[str, list[float]] = {}
    for row in rows:
        acc = sums.setdefault(_key(row, by), [0, 0, 0.0, 0.0, 0.0])
        for index, value in enumerate(_figures(row)):
            acc[index] += value
    found = [_total(key, acc, prices) for key, acc in sums.items()]
    return sorted(found, key=lambda t: (-t.cost, -t.worker_seconds, t.key))


def _key(row: UsageRow, by: UsageBy) -> str:
    return {UsageBy.TENANT: row.tenant, UsageBy.TASK: row.task, UsageBy.QUEUE: row.queue}[by]


def _figures(row: UsageRow) -> tuple[float, ...]:
    return (row.jobs, row.attempts, row.wall_seconds, row.cpu_seconds, row.slot_seconds)


def _total(key: str, acc: list[float], prices: Prices) -> UsageTotal:
    jobs, attempts, wall, cpu, slots = acc
    return UsageTotal(
        key=key,
        jobs=int(jobs),
        attempts=int(attempts),
        wall_seconds=wall,
        cpu_seconds=cpu,
        worker_seconds=slots,
        cost=prices.cost(cpu_seconds=cpu, slot_seconds=slots),
    )
