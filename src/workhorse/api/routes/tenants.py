"""``/v1/tenants``: quotas, weights and activity. Admin keys see and change every tenant; a
tenant key reads only its own (another tenant is 404) and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat

from workhorse.api.auth import Admin, App, Caller
from workhorse.api.errors import ApiError
from workhorse.api.types import Name, Quota
from workhorse.tenants import Tenant, TenantStats

router = APIRouter(tags=["tenants"])


class TenantOut(BaseModel):
    name: str
    weight: float
    max_running: int | None
    max_queued: int | None
    rate: float | None
    burst: float | None
    paused: bool
    running: int
    waiting: int
    started_last_minute: int
    usage_seconds: float = Field(description="Decayed worker-seconds consumed recently.")


class TenantsOut(BaseModel):
    tenants: list[TenantOut]


_LEFT_OUT: Any = None
"""The default of a setting that may be left out but not set to null (typed Any for mypy: the
field's own type refuses None)."""


def _no_defaults(schema: dict[str, Any]) -> None:
    """A setting left out keeps its value: the schema shows no default (null would read as
    "removes the limit", which only an explicit null does)."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class TenantUpdate(BaseModel):
    """Settings to change; those left out keep their values, and null removes a limit (weight
    and paused cannot be null)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)

    weight: StrictFloat = Field(default=_LEFT_OUT, gt=0, le=1e6)
    max_running: Quota | None = None
    max_queued: Quota | None = None
    rate: StrictFloat | None = Field(default=None, gt=0, le=1e9)
    burst: StrictFloat | None = Field(default=None, ge=1, le=1e9)
    paused: StrictBool = Field(default=_LEFT_OUT)


@router.get("/tenants", response_model=TenantsOut, operation_id="listTenants")
def list_tenants(app: App, caller: Caller) -> TenantsOut:
    """Every tenant with its quotas and activity (a tenant key: only its own)."""
    rows = [
        row for row in app.tenant_stats() if caller.is_admin or row.tenant.name == caller.tenant
    ]
    return TenantsOut(tenants=[_out(row) for row in rows])


@router.get("/tenants/{name}", response_model=TenantOut, operation_id="getTenant")
def get_tenant(name: Name, app: App, caller: Caller) -> TenantOut:
    """One tenant (a tenant key: only its own, anything else is 404)."""
    if not caller.is_admin and name != caller.tenant:
        raise ApiError(404, "not_found", f"tenant {name!r} not found")
    return _out(_stats(app.tenant_stats(), app.get_tenant(name)))


@router.put("/tenants/{name}", response_model=TenantOut, operation_id="putTenant")
def put_tenant(name: Name, body: TenantUpdate, app: App, caller: Admin) -> TenantOut:
    """Create a tenant or change its settings (admin keys only)."""
    tenant = app.set_tenant(name, **body.model_dump(exclude_unset=True))
    return _out(_stats(app.tenant_stats(), tenant))


def _stats(rows: list[TenantStats], tenant: Tenant) -> TenantStats:
    for row in rows:
        if row.tenant.name == tenant.name:
            return row
    return TenantStats(tenant=tenant, running=0, waiting=0, started_last_minute=0, usage=0.0)


def _out(row: TenantStats) -> TenantOut:
    tenant = row.tenant
    return TenantOut(
        name=tenant.name,
        weight=tenant.weight,
        max_running=tenant.max_running,
        max_queued=tenant.max_queued,
        rate=tenant.rate,
        burst=tenant.burst,
        paused=tenant.paused,
        running=row.running,
        waiting=row.waiting,
        started_last_minute=row.started_last_minute,
        usage_seconds=round(row.usage, 3),
    )
