"""The storage contract's tenant operations: configuration and live statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workhorse.fairness import USAGE_WINDOW
from workhorse.tenants import Tenant


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantUpsertParams:
    """Create or replace a tenant's configuration (its usage and tokens are kept)."""

    tenant: Tenant
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantGetParams:
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantListParams:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantStatsParams:
    now: datetime
    usage_window: timedelta = USAGE_WINDOW
