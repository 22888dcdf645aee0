"""SQLite's share of the hourly usage roll-up: a batch of finished attempts, added in the
completion's transaction (PostgreSQL adds in its completion statement)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from workhorse.backends import base as b
from workhorse.backends.ops.usage import usage_hour
from workhorse.backends.store import Row, Tx


@dataclass(slots=True)
class _Sums:
    jobs: int = 0
    attempts: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    slots: float = 0.0


def usage_add(
    tx: Tx, finished: Iterable[Row], measured: Mapping[int, b.AttemptUsage | None], now: datetime
) -> None:
    """Add finished attempts (rows with id, tenant, task, queue, state and ``run_seconds``) to
    the roll-up; an attempt without ``measured`` usage counts its run time, one slot, no CPU.
    Rows are written in key order, so two writers never wait on each other in a cycle."""
    sums: dict[tuple[str, str, str], _Sums] = {}
    for row in finished:
        key = (row["tenant"], row["task"], row["queue"])
        _add(sums.setdefault(key, _Sums()), row, measured.get(row["id"]))
    rows = [
        [tenant, task, queue, s.jobs, s.attempts, s.wall, s.cpu, s.slots]
        for (tenant, task, queue), s in sorted(sums.items())
    ]
    if rows:
        query = {"hour": tx.values.time(usage_hour(now)), "rows": tx.values.array(rows)}
        tx.count("usage_add", query)


def _add(sums: _Sums, row: Row, usage: b.AttemptUsage | None) -> None:
    wall = usage.wall_seconds if usage is not None else row["run_seconds"]
    sums.jobs += row["state"] != "retrying"
    sums.attempts += 1
    sums.wall += wall
    sums.cpu += (usage.cpu_seconds or 0.0) if usage is not None else 0.0
    sums.slots += wall * (usage.slots if usage is not None else 1)
