"""The SQLite database file: created private, or required to exist.

The file holds every tenant's arguments and results, so it is created readable and writable by
its owner only (0600), whatever the process's umask; SQLite gives the ``-wal`` and ``-shm`` files
the mode of the database file, so they are private too. A file that already exists keeps the
mode its owner gave it.

Only the commands that set a database up (``migrate``, ``serve``, ``worker``) and the Python API
create one: for every other command a missing file is a mistyped path, reported as such rather
than answered from a new, empty database.
"""

from __future__ import annotations

import os
from pathlib import Path

from workhorse.errors import DatabaseError

MODE = 0o600


def prepare_file(path: str, *, create: bool) -> None:
    """Make sure the database file at ``path`` exists before SQLite opens it: created empty
    with ``MODE`` when ``create``, else DatabaseError naming the path. A missing directory is
    left for SQLite's own error, which names it."""
    file = Path(path)
    if file.exists():
        return
    if not create:
        missing = "" if file.parent.exists() else f" (directory {file.parent} does not exist)"
        raise DatabaseError(
            f"no SQLite database at {path}{missing}; `workhorse migrate` creates one"
        )
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE))
    except FileExistsError:
        pass  # another process created it first: it made it with this mode too
    except FileNotFoundError:
        pass  # no such directory: connecting reports it
