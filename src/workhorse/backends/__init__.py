"""Backends: where jobs live. ``open_backend(url)`` picks one by URL scheme."""

from __future__ import annotations

from workhorse.backends.base import Backend
from workhorse.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///./workhorse.db"


def open_backend(url: str, *, auto_migrate: bool | None = None, create: bool = True) -> Backend:
    """Open the backend for ``url``: ``sqlite:///path.db`` or ``postgresql://…``.

    ``auto_migrate`` defaults to True on SQLite (one machine, zero set-up) and False on PostgreSQL,
    where ``workhorse migrate`` is a deployment step. Without ``create``, a SQLite file that does
    not exist is an error rather than a new database (PostgreSQL never creates a database).
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from workhorse.backends.sqlite import SQLiteBackend

        migrate = True if auto_migrate is None else auto_migrate
        return SQLiteBackend(url, auto_migrate=migrate, create=create)
    if scheme in {"postgresql", "postgres"}:
        from workhorse.backends.postgres import PostgresBackend

        return PostgresBackend(url, auto_migrate=bool(auto_migrate))
    raise ConfigurationError(
        f"unsupported database URL {url!r}: expected sqlite:///path.db or postgresql://…"
    )


__all__ = ["DEFAULT_DATABASE_URL", "Backend", "open_backend"]
