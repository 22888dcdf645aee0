"""Named SQL blocks: one name in the .sql file, the backend and the Protocol."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from workhorse.backends import base, claiming, ops
from workhorse.backends.sql import load_blocks, load_migrations, parse_blocks

SQLITE = "workhorse.backends.sqlite"


_STATEMENT_CALLS = {"all", "built", "one", "count", "send", "read", "write"}
"""The Tx and Store methods that run a named block given as their first argument."""


def _names_used(source: str) -> set[str]:
    """Block names a module runs: the first argument of a statement call (``tx.all("name", …)``,
    ``store.read("name")``; either branch of a conditional) and ``QUERIES["name"]``."""
    used: set[str] = set()

    def collect(node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)
        elif isinstance(node, ast.IfExp):
            collect(node.body)
            collect(node.orelse)

    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _STATEMENT_CALLS
            and node.args
        ):
            collect(node.args[0])
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "QUERIES"
        ):
            collect(node.slice)
    return used


def _sources(package: str) -> list[Path]:
    """The modules that run ``package``'s blocks: its own, and the operations both share."""
    backends = Path(inspect.getfile(ops)).parent.parent
    return [*(backends / "ops").glob("*.py"), *(backends / package.rsplit(".", 1)[1]).glob("*.py")]


_NOT_SQL = {"close", "ended_watch", "listener", "migrate", "schema_latest", "schema_version"}
"""Protocol methods that are not data operations: no SQL block of their name."""

_STEPS = {
    "job_claim": "claim_mark_running",
    "workflow_cancel": "workflow_cancel_steps",
    "workflow_retry": "workflow_retry_steps",
}
"""Operations implemented in several steps, and the block of the step that names them (the claim
is the claim_* blocks of the ClaimStore steps in workhorse.backends.claiming)."""

_ONE_DATABASE = {
    "job_history_rotate": "workhorse.backends.postgres",
    "places_vacuum": "workhorse.backends.postgres",
}
"""Operations only one database runs SQL for; the other's is SqlBackend's, which does nothing
(SQLite keeps no day partitions of ended jobs, and no old index entries to vacuum)."""

_NOT_SQL_STEPS = {"atomic"}
"""ClaimStore steps that are a transaction, not a statement."""


def _protocol_operations() -> set[str]:
    return {
        name
        for name, _ in inspect.getmembers(base.Backend, inspect.isfunction)
        if not name.startswith("_") and name not in _NOT_SQL
    }


def test_parse_blocks_splits_named_blocks() -> None:
    text = (
        "-- a header comment, not a block\n"
        "-- name: first\n"
        "SELECT 1\n"
        "\n"
        "-- name: second\n"
        "-- a comment inside the block\n"
        "UPDATE t\n"
        "SET x = 1\n"
    )
    assert parse_blocks(text) == {
        "first": "SELECT 1",
        "second": "-- a comment inside the block\nUPDATE t\nSET x = 1",
    }


def test_parse_blocks_of_text_without_names_is_empty() -> None:
    assert parse_blocks("SELECT 1;\n-- just a comment\n") == {}


def test_parse_blocks_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="'twice' is defined twice"):
        parse_blocks("-- name: twice\nSELECT 1\n-- name: other\nSELECT 2\n-- name: twice\nSELECT 3")


def test_parse_blocks_includes_a_fragment_at_the_include_lines_indentation() -> None:
    text = (
        "-- name: count\n"
        "SELECT count(*) FROM t\n"
        "WHERE a\n"
        "  -- include: filter\n"
        "\n"
        "-- fragment: filter\n"
        "AND b\n"
        "AND (c\n"
        "     OR d)\n"
        "\n"
        "-- name: rows\n"
        "SELECT * FROM t WHERE a\n"
        "-- include: filter\n"
        "LIMIT 1\n"
    )
    assert parse_blocks(text) == {
        "count": "SELECT count(*) FROM t\nWHERE a\n  AND b\n  AND (c\n       OR d)",
        "rows": "SELECT * FROM t WHERE a\nAND b\nAND (c\n     OR d)\nLIMIT 1",
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-- name: a\nSELECT 1\n-- include: nowhere\n", "'nowhere' is included but not defined"),
        ("-- name: a\nSELECT 1\n-- fragment: spare\nAND x\n", r"\['spare'\] are never included"),
        (
            "-- fragment: f\nAND x\n-- include: g\n-- fragment: g\nAND y\n",
            "'f' includes another",
        ),
        ("-- fragment: a\nAND x\n-- name: a\nSELECT 1\n-- include: a\n", "'a' is defined twice"),
    ],
)
def test_parse_blocks_rejects_unknown_unused_nested_and_clashing_fragments(
    text: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        parse_blocks(text)


def test_parse_blocks_tolerates_spacing_in_the_name_line() -> None:
    assert parse_blocks("--name:a\nSELECT 1\n--   name:   b  \nSELECT 2") == {
        "a": "SELECT 1",
        "b": "SELECT 2",
    }


@pytest.mark.parametrize("package", [SQLITE, "workhorse.backends.postgres"])
def test_every_block_is_used_by_its_backend_and_vice_versa(package: str) -> None:
    blocks = set(load_blocks(package, "queries.sql"))
    used = set().union(*(_names_used(f.read_text("utf-8")) for f in _sources(package)))
    assert used, "found no block names in the backend source: has the lookup changed?"
    assert blocks - used == set(), "blocks nobody runs"
    assert used - blocks == set(), "blocks the backend needs but the file lacks"


def test_no_sqlite_block_is_empty() -> None:
    for name, sql in load_blocks(SQLITE, "queries.sql").items():
        statement = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        assert statement.strip(), name


def test_the_protocol_has_the_data_operations_checked_here() -> None:
    operations = _protocol_operations()
    assert {"job_insert_many", "job_claim", "tenant_stats", "metrics_snapshot"} <= operations


@pytest.mark.parametrize("package", [SQLITE, "workhorse.backends.postgres"])
def test_every_protocol_operation_has_a_block_of_its_name(package: str) -> None:
    """One name in three places; a ``*_many`` operation may loop over its one-row block."""
    blocks = set(load_blocks(package, "queries.sql"))
    missing = {
        op
        for op in _protocol_operations()
        if op not in blocks
        and op.removesuffix("_many") not in blocks
        and _STEPS.get(op) not in blocks
        and _ONE_DATABASE.get(op, package) == package
    }
    assert missing == set()


@pytest.mark.parametrize("package", [SQLITE, "workhorse.backends.postgres"])
def test_every_claim_step_has_blocks_of_its_name_and_every_claim_block_a_step(package: str) -> None:
    """A ClaimStore step ``take`` is the block ``claim_take``, or blocks ``claim_take_*`` where
    one database takes it in several statements; no claim_* block is outside a step."""
    steps = {
        name
        for name, _ in inspect.getmembers(claiming.ClaimStore, inspect.isfunction)
        if not name.startswith("_") and name not in _NOT_SQL_STEPS
    }
    blocks = {name for name in load_blocks(package, "queries.sql") if name.startswith("claim_")}

    def owner(block: str) -> str | None:
        return max((s for s in steps if block.startswith(f"claim_{s}")), key=len, default=None)

    assert {step for step in steps if not any(owner(b) == step for b in blocks)} == set()
    assert {block for block in blocks if owner(block) is None} == set()


def test_every_protocol_operation_has_a_conformance_test_of_its_name() -> None:
    """One name in three places: ``tests/backends/test_<operation>.py``, or a test function
    ``test_<operation>_…`` in the module of its noun."""
    suite = Path(__file__).parent.parent / "backends"
    modules = {path.stem for path in suite.glob("test_*.py")}
    tests = set().union(
        *(
            re.findall(r"^def (test_\w+)", path.read_text("utf-8"), re.MULTILINE)
            for path in suite.glob("test_*.py")
        )
    )
    operations = {
        name
        for name, _ in inspect.getmembers(base.Backend, inspect.isfunction)
        if not name.startswith("_")
    }
    untested = {
        op
        for op in operations
        if f"test_{op}" not in modules and not any(t.startswith(f"test_{op}_") for t in tests)
    }
    assert untested == set()


def test_load_migrations_returns_unique_numbers_from_one_in_order() -> None:
    migrations = load_migrations(f"{SQLITE}.migrations")
    versions = [version for version, _, _ in migrations]
    assert versions == sorted(set(versions))
    assert versions[0] == 1
    assert migrations[0][1] == "initial"
    assert all(sql.strip() for _, _, sql in migrations)
