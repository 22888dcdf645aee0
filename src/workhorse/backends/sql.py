"""Named SQL blocks kept in ``.sql`` files, loaded once per backend.

A file holds blocks that each start with a ``-- name: block_name`` line; the block's text runs to
the next such line. Names match the Protocol operation they implement.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_blocks(text: str) -> dict[str, str]:
    """Split SQL text into named blocks; duplicate names are an error."""
    blocks: dict[str, str] = {}
    parts = _NAME.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in blocks:
            raise ValueError(f"SQL block {name!r} is defined twice")
        blocks[name] = body.strip()
    return blocks


@cache
def load_blocks(package: str, filename: str) -> dict[str, str]:
    """The named blocks of a ``.sql`` file shipped in ``package``."""
    return parse_blocks(resources.files(package).joinpath(filename).read_text("utf-8"))


def load_migrations(package: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for each ``NNNN_name.sql`` in ``package``, in version order."""
    found = []
    for entry in resources.files(package).iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations in {package} are not numbered 1..n: {versions}")
    return found
