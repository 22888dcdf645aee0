"""Named SQL blocks kept in ``.sql`` files, loaded once per backend.

A file holds blocks that each start with a ``-- name: block_name`` line; the block's text runs to
the next such line. Names match the Protocol operation (or the step of one) they implement.

A filter that several blocks share is written once, as a ``-- fragment: fragment_name`` block,
and stands in each block that needs it as a line ``-- include: fragment_name``, which is replaced
by the fragment's text at that line's indentation. Textual inclusion, rather than one block
selecting from another, keeps every statement exactly as it would be written out by hand: a
locking read and a count can share a filter, and the planner sees the same statement either way.
Fragments do not include others; a fragment nobody includes is an error, as is an unknown one.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^--\s*(name|fragment):\s*(\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)--\s*include:\s*(?P<name>\w+)\s*$", re.MULTILINE)


def parse_blocks(text: str) -> dict[str, str]:
    """Split SQL text into named blocks with their fragments included; duplicate names, unknown
    or unused fragments and fragments that include others are errors."""
    blocks, fragments = _split(text)
    unused = set(fragments)

    def include(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in fragments:
            raise ValueError(f"SQL fragment {name!r} is included but not defined")
        unused.discard(name)
        return textwrap.indent(fragments[name], match["indent"])

    expanded = {name: _INCLUDE.sub(include, body) for name, body in blocks.items()}
    if unused:
        raise ValueError(f"SQL fragments {sorted(unused)} are never included")
    return expanded


def _split(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """The named blocks and the fragments of ``text``, as written."""
    blocks: dict[str, str] = {}
    fragments: dict[str, str] = {}
    parts = _HEADER.split(text)
    for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        if name in blocks or name in fragments:
            raise ValueError(f"SQL block {name!r} is defined twice")
        if kind == "fragment" and _INCLUDE.search(body):
            raise ValueError(f"SQL fragment {name!r} includes another; fragments cannot")
        (fragments if kind == "fragment" else blocks)[name] = body.strip()
    return blocks, fragments


@cache
def load_blocks(package: str, filename: str) -> dict[str, str]:
    """The named blocks of a ``.sql`` file shipped in ``package``."""
    return parse_blocks(resources.files(package).joinpath(filename).read_text("utf-8"))


def load_migrations(package: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for each ``NNNN_name.sql`` in ``package``, in version order.

    Numbers are unique and increasing from 1 (a gap is allowed); ``migrate`` applies every
    number a database lacks, whatever its order of arrival."""
    found = []
    for entry in resources.files(package).iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] != 1):
        raise ValueError(f"migrations in {package} are not numbered uniquely from 1: {versions}")
    return found
