"""Secrets out of what is printed or logged: database URLs with their passwords hidden.

Every place that shows a database URL (log lines, error messages, the live view, ``repr``) goes
through ``redact_url``, so a password never reaches a terminal, a log store or a bug report.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HIDDEN = "***"

_QUERY_PASSWORD = re.compile(r"(?i)(^|&)(password=)[^&]*")


def redact_url(url: str) -> str:
    """``url`` with the password of its user (``user:secret@``) and any ``password=`` query
    parameter replaced by ``***``; everything else, hosts and options included, as it was.

    A libpq URL may list several hosts (``db1:5432,db2:5432``), which ``urlsplit`` keeps whole in
    the netloc; the user part is everything before its last ``@``. The URL is edited in place
    rather than rebuilt, so it keeps its exact spelling (``sqlite:////abs.db``, ``postgresql:///``).
    """
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if at and colon:
        url = url.replace(f"//{parts.netloc}", f"//{user}:{HIDDEN}@{hosts}", 1)
    base, question, rest = url.partition("?")
    if question:
        query, hash_, fragment = rest.partition("#")
        url = base + question + _QUERY_PASSWORD.sub(rf"\1\2{HIDDEN}", query) + hash_ + fragment
    return url
