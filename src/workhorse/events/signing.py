"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"`` under the endpoint's secret (``whsec_`` + base64 key bytes).

During a rotation an endpoint has two secrets, and every request carries both signatures
(space-separated), so a receiver that knows either one accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300
"""Seconds a receiver accepts between the signed timestamp and its own clock."""


def new_secret() -> str:
    """A fresh signing secret: 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` of ``body`` sent as message ``msg_id`` at ``timestamp``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in ``secrets_``."""
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """Whether ``received`` headers carry a valid signature of ``body`` under ``secret`` with a
    timestamp within ``tolerance`` seconds of ``now`` (what a receiver checks)."""
    try:
        msg_id = received["webhook-id"]
        timestamp = int(received["webhook-timestamp"])
        offered = received["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
