"""The storage contract's keys: API keys and idempotency keys (the HTTP API's operations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from workhorse.backends.base.jobs import InsertedJob, NewJob


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """A stored API key. Its secret is never stored: only the SHA-256 of the whole key."""

    id: int
    prefix: str
    """Public and unique: finds the key and names it in listings."""
    secret_hash: str
    tenant: str | None
    """The only tenant the key may see; None for an admin key."""
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyInsertParams:
    prefix: str
    secret_hash: str
    tenant: str | None
    name: str
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyGetParams:
    prefix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyListParams:
    include_revoked: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRevokeParams:
    """Revoke the key with this ``id`` or this ``prefix`` (exactly one of them)."""

    id: int | None = None
    prefix: str | None = None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyTouchParams:
    """Record a use of key ``id`` at ``now``, unless one was recorded after ``stale_before``
    (so that a busy key costs a write a minute, not a write a request)."""

    id: int
    now: datetime
    stale_before: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyInsertParams:
    """Insert ``jobs`` and remember them under (``scope``, ``key``) until ``expires_at``, in one
    transaction; or, when a live record of the key exists, insert nothing and return it."""

    scope: str
    """Who may see the key: the requesting key's tenant, or '' for admin keys."""
    key: str
    request_hash: str
    jobs: Sequence[NewJob]
    now: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyRecord:
    """The outcome of ``idempotency_insert``.

    ``replayed`` is True when the key was already used: ``request_hash`` and ``jobs`` are then
    those of the first request (every job with ``created`` False), and nothing was inserted.
    """

    request_hash: str
    jobs: list[InsertedJob]
    replayed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyPruneParams:
    """Delete idempotency records that expired before ``now``."""

    now: datetime
    limit: int
