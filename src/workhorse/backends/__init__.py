"""Backends: where jobs live. ``open_backend(url)`` picks one by URL scheme."""

from __future__ import annotations

from workhorse.backends.base import Backend
from workhorse.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///./workhorse.db"


def open_backend(url: str, *, auto_migrate: bool = True) -> Backend:
    """Open the backend for ``url``: ``sqlite:///path.db`` or ``postgresql://…``."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from workhorse.backends.sqlite import SQLiteBackend

        return SQLiteBackend(url, auto_migrate=auto_migrate)
    raise ConfigurationError(
        f"unsupported database URL {url!r}: expected sqlite:///path.db or postgresql://…"
    )


__all__ = ["DEFAULT_DATABASE_URL", "Backend", "open_backend"]
