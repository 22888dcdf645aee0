"""The hourly usage roll-up: reading it, and (for SQLite, whose completion is not one statement)
adding a batch of finished attempts to it. PostgreSQL adds in its completion statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workhorse.backends import base as b
from workhorse.backends.store import Row, Store, Tx


def usage_hour(now: datetime) -> datetime:
    """The roll-up hour ``now`` falls in (UTC)."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def usage_list(store: Store, params: b.UsageListParams) -> list[b.UsageRow]:
    v = store.values
    query = {
        "since": v.time(usage_hour(params.since)),
        "until": v.time(params.until),
        "tenant": params.tenant,
    }
    return [_row(row, store) for row in store.read("usage_list", query)]


def _row(row: Row, store: Store) -> b.UsageRow:
    return b.UsageRow(
        tenant=row["tenant"],
        hour=store.values.at(row["hour"]),
        task=row["task"],
        queue=row["queue"],
        jobs=int(row["jobs"]),
        attempts=int(row["attempts"]),
        wall_seconds=float(row["wall_seconds"]),
        cpu_seconds=float(row["cpu_seconds"]),
        slot_seconds=float(row["slot_seconds"]),
    )


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
    hour = tx.values.time(usage_hour(now))
    for (tenant, task, queue), s in sorted(sums.items()):
        query: dict[str, Any] = {"tenant": tenant, "task": task, "queue": queue, "hour": hour}
        query |= {"jobs": s.jobs, "attempts": s.attempts, "wall": s.wall, "cpu": s.cpu}
        tx.count("usage_add", query | {"slot_seconds": s.slots})


def _add(sums: _Sums, row: Row, usage: b.AttemptUsage | None) -> None:
    wall = usage.wall_seconds if usage is not None else row["run_seconds"]
    sums.jobs += row["state"] != "retrying"
    sums.attempts += 1
    sums.wall += wall
    sums.cpu += (usage.cpu_seconds or 0.0) if usage is not None else 0.0
    sums.slots += wall * (usage.slots if usage is not None else 1)
