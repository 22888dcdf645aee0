"""Cursors for listing jobs newest first.

A cursor names the last job of a page; the next page holds the jobs with smaller ids. Ids never
change and are never reused, so pages are stable: a job enqueued while a client pages appears on
no later page, and no job appears twice.

A cursor is ``c`` and the id in base 36. Every string of that shape (``CURSOR_PATTERN``, which
the OpenAPI schema states) is a valid cursor, so the schema says exactly what is accepted: one
that names no job simply starts the page there (an id beyond any job's: from the newest). Clients
should still treat cursors as opaque and pass back only those they were given.
"""

from __future__ import annotations

import string

CURSOR_PATTERN = "^c[0-9a-z]{1,13}$"
"""13 base-36 digits hold any 63-bit id."""

_MAX_ID = 2**63 - 1
_DIGITS = string.digits + string.ascii_lowercase


def encode_cursor(last_id: int) -> str:
    """The cursor of the page after the job ``last_id`` (a positive id)."""
    digits = ""
    while last_id:
        last_id, digit = divmod(last_id, 36)
        digits = _DIGITS[digit] + digits
    return "c" + (digits or "0")


def decode_cursor(cursor: str) -> int:
    """The id ``cursor`` (which matches ``CURSOR_PATTERN``) names, at most the largest id."""
    return min(int(cursor[1:], 36), _MAX_ID)
