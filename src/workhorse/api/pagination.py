"""Opaque cursors for listing jobs newest first.

A cursor names the last job of a page; the next page holds the jobs with smaller ids. Ids never
change and are never reused, so pages are stable: a job enqueued while a client pages appears on
no later page, and no job appears twice.
"""

from __future__ import annotations

import base64
import binascii
import json

from workhorse.api.errors import ApiError

_MAX_ID = 2**63 - 1


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"v": 1, "before": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor names; 422 for anything that is not a cursor this API made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        before = data["before"] if isinstance(data, dict) and data.get("v") == 1 else None
    except (binascii.Error, ValueError, KeyError, RecursionError):
        before = None
    if isinstance(before, bool) or not isinstance(before, int) or not 1 <= before <= _MAX_ID:
        raise ApiError(422, "invalid_cursor", "cursor is not one this API returned")
    return before
