"""Tenants: who owns jobs, with a weight for fair share and quotas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from workhorse.errors import ConfigurationError


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """A tenant's configuration. None means unlimited.

    - ``weight``: its share of worker-time relative to other backlogged tenants.
    - ``max_running``: jobs running at once, across every worker.
    - ``max_queued``: jobs waiting (scheduled, queued or retrying); enqueue beyond it is refused.
    - ``rate``/``burst``: jobs started per second, a token bucket holding ``burst`` (default
      ``max(1, rate)``).
    - ``paused``: nothing of this tenant starts; enqueue still works.
    """

    name: str
    weight: float = 1.0
    max_running: int | None = None
    max_queued: int | None = None
    rate: float | None = None
    burst: float | None = None
    paused: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or len(self.name) > 200:
            raise ConfigurationError("tenant name must be a non-empty string of at most 200 chars")
        if "\x00" in self.name:
            raise ConfigurationError("tenant name must not contain NUL characters")
        if not _positive(self.weight):
            raise ConfigurationError(f"weight must be a positive number, got {self.weight!r}")
        for field in ("max_running", "max_queued"):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigurationError(f"{field} must be an int >= 0 or None, got {value!r}")
        if self.rate is not None and not _positive(self.rate):
            raise ConfigurationError(f"rate must be a positive number, got {self.rate!r}")
        if self.burst is not None and (not _positive(self.burst) or self.burst < 1):
            raise ConfigurationError(f"burst must be a number >= 1, got {self.burst!r}")

    @property
    def bucket_size(self) -> float | None:
        """Tokens the start-rate bucket holds when full (None without a rate limit)."""
        if self.rate is None:
            return None
        return self.burst if self.burst is not None else max(1.0, self.rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantStats:
    """A tenant's activity now: what ``workhorse tenants list`` shows."""

    tenant: Tenant
    running: int
    waiting: int
    started_last_minute: int
    usage: float
    """Decayed worker-seconds consumed recently (the fair-share measure)."""


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
