"""Tenants: their configuration, and their activity and decayed usage now."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.store import Row, Store, Values
from workhorse.fairness import decayed
from workhorse.tenants import Tenant, TenantStats

RECENT = timedelta(minutes=1)
"""``started_last_minute`` counts the jobs started this long before ``now``."""


def tenant_upsert(store: Store, params: b.TenantUpsertParams) -> Tenant:
    tenant = params.tenant
    query = {
        "name": tenant.name,
        "weight": tenant.weight,
        "max_running": tenant.max_running,
        "max_queued": tenant.max_queued,
        "rate": tenant.rate,
        "burst": tenant.burst,
        "paused": tenant.paused,
        "now": store.values.time(params.now),
    }
    return rows.tenant(store.write("tenant_upsert", query)[0], store.values)


def tenant_get(store: Store, params: b.TenantGetParams) -> Tenant | None:
    found = store.read("tenant_get", {"name": params.name})
    return rows.tenant(found[0], store.values) if found else None


def tenant_list(store: Store, params: b.TenantListParams) -> list[Tenant]:
    return [rows.tenant(row, store.values) for row in store.read("tenant_list")]


def tenant_stats(store: Store, params: b.TenantStatsParams) -> list[TenantStats]:
    since = {"since": store.values.time(params.now - RECENT)}
    with store.snapshot() as tx:  # one snapshot for both reads
        configured = {row["name"]: row for row in tx.all("tenant_list")}
        counts = {row["tenant"]: row for row in tx.all("tenant_stats", since)}
    return [
        _stats(name, configured.get(name), counts.get(name), params, store.values)
        for name in sorted(configured.keys() | counts.keys())
    ]


def _stats(
    name: str, row: Row | None, counts: Row | None, params: b.TenantStatsParams, v: Values
) -> TenantStats:
    usage = 0.0
    if row is not None:
        usage = decayed(row["usage"], params.now - v.at(row["usage_at"]), params.usage_window)
    return TenantStats(
        tenant=rows.tenant(row, v) if row is not None else Tenant(name=name),
        running=int(counts["running"]) if counts else 0,
        waiting=int(counts["waiting"]) if counts else 0,
        started_last_minute=int(counts["started"]) if counts else 0,
        usage=usage,
    )
