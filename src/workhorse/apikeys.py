"""API keys: the bearer tokens of the HTTP API, minted, checked and revoked here.

A key looks like ``wh_3f9a0c1b2d4e_<43 URL-safe characters>``: a public prefix (``wh_`` and 12 hex
digits) that finds the key and names it in listings, then a 256-bit random secret. Only the
SHA-256 of the whole key is stored. A fast hash is right for a random secret this long (password
stretching defends guessable secrets, and nobody guesses 256 bits); the stored and computed hashes
are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.errors import ConfigurationError, DatabaseError

TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, so reads stay reads."""

_TOKEN = re.compile(r"(wh_[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_ATTEMPTS = 5
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``token`` is the only copy of the secret, shown once."""

    key: b.ApiKey
    token: str


def hash_token(token: str) -> str:
    """The stored form of a key: the hex SHA-256 of the whole token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    """The prefix of a well-formed token, else None (a malformed token never reaches storage)."""
    match = _TOKEN.fullmatch(token)
    return match[1] if match else None


def create_key(backend: Backend, *, tenant: str | None, name: str, now: datetime) -> NewKey:
    """Mint and store a key for ``tenant`` (None: an admin key)."""
    if tenant is not None and (not tenant or len(tenant) > 200):
        raise ConfigurationError("tenant must be a non-empty string of at most 200 characters")
    for _ in range(_ATTEMPTS):
        prefix = f"wh_{secrets.token_hex(6)}"
        token = f"{prefix}_{secrets.token_urlsafe(32)}"
        params = b.ApiKeyInsertParams(
            prefix=prefix, secret_hash=hash_token(token), tenant=tenant, name=name, now=now
        )
        key = backend.api_key_insert(params)
        if key is not None:
            return NewKey(key, token)
    raise DatabaseError(f"no free key prefix after {_ATTEMPTS} attempts")  # pragma: no cover


def authenticate(backend: Backend, token: str, now: datetime) -> b.ApiKey | None:
    """The live key ``token`` is, or None (malformed, unknown, wrong secret or revoked)."""
    prefix = token_prefix(token)
    if prefix is None:
        return None
    key = backend.api_key_get(b.ApiKeyGetParams(prefix=prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, hash_token(token)):
        return None
    if key.revoked_at is not None:
        return None
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        backend.api_key_touch(
            b.ApiKeyTouchParams(id=key.id, now=now, stale_before=now - TOUCH_EVERY)
        )
    return key


def revoke_key(backend: Backend, prefix_or_id: str, now: datetime) -> b.ApiKey | None:
    """Revoke a key named by its prefix (``wh_…``, or the whole key) or its numeric id; None if
    there is no such key."""
    if prefix_or_id.isdecimal():
        key_id = int(prefix_or_id)
        if key_id > _MAX_ID:
            return None
        return backend.api_key_revoke(b.ApiKeyRevokeParams(id=key_id, now=now))
    prefix = token_prefix(prefix_or_id) or prefix_or_id
    return backend.api_key_revoke(b.ApiKeyRevokeParams(prefix=prefix, now=now))
