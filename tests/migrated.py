"""Fresh, migrated SQLite stores without running the migrations for every test.

Migrating a new SQLite file is most of what a short test against it costs (tens of
milliseconds; copying one takes a couple), so the migrations run once per session into a
template file and each test gets a copy of it in its own directory, mode (0600) and all: the
same bytes a migration of its own would have written. Tests of migrating itself start from a
new file instead.

(PostgreSQL keeps a new schema migrated per test: emptying a used one takes as long.)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from workhorse.backends import open_backend


@cache
def _template() -> Path:
    root = Path(tempfile.mkdtemp(prefix="wh-template-"))
    atexit.register(shutil.rmtree, root, True)
    template = root / "migrated.db"
    open_backend(f"sqlite:///{template}", auto_migrate=True).close()
    assert not template.with_name("migrated.db-wal").exists(), "closing left its WAL behind"
    return template


def sqlite_store(path: Path) -> str:
    """The URL of a migrated, empty SQLite database at ``path``: a copy of the template."""
    shutil.copy(_template(), path)
    return f"sqlite:///{path}"
