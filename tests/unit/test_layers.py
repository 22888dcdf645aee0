"""The web, CLI and serve layers reach storage only through the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workhorse

PACKAGE = Path(workhorse.__file__).parent
LAYERS = ["api", "cli", "serve", "dashboard", "observability", "bench"]


def _storage_doors(path: Path) -> list[str]:
    """Where ``path`` reaches a backend itself: ``….backend`` or ``open_backend``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in {"backend", "_backend"}:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.alias) and node.name == "open_backend":
            found.append(f"{path.name}:{node.lineno}: imports open_backend")
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_uses_the_app_not_a_backend(layer: str) -> None:
    modules = sorted((PACKAGE / layer).rglob("*.py"))
    assert modules, f"no modules in workhorse.{layer}"
    assert [door for path in modules for door in _storage_doors(path)] == []
