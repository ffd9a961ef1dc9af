"""The semantic layer sits below the tools and above the guard: it imports no upper layer."""

from __future__ import annotations

import ast
from pathlib import Path

import app.semantic

UPPER = ("app.agent", "app.web", "app.tools", "app.cli", "app.store", "app.evals")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_semantic_layer_imports_no_upper_layer():
    folder = Path(app.semantic.__file__).parent
    modules = {path.name: imported_modules(path) for path in folder.glob("*.py")}
    assert len(modules) >= 10
    upward = {
        name: sorted(m for m in imports if m.startswith(UPPER)) for name, imports in modules.items()
    }
    assert {name: found for name, found in upward.items() if found} == {}
