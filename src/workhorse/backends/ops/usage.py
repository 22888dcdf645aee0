"""The hourly usage roll-up: reading it. Each backend adds to it as it writes outcomes
(PostgreSQL in its completion statement, SQLite in its completion transaction)."""

from __future__ import annotations

from datetime import UTC, datetime

from workhorse.backends import base as b
from workhorse.backends.store import Row, Store


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
