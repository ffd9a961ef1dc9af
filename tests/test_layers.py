"""The architecture holds (ARCHITECTURE.md): imports only point down the layers, there are no
import cycles, ``db`` imports nothing from ``app``, and no code outside a tool's own module
names that tool in a string (it asks the registry)."""

from __future__ import annotations

import ast
from pathlib import Path

from app.tools import registry

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a module may import its own layer and the layers below it.
LAYERS = [
    ("channels", ("app.web", "app.cli", "app.evals", "app.mcp")),
    ("turn", ("app.turn",)),
    ("voice", ("app.voice",)),  # speech to text through the model's provider
    ("briefings", ("app.dashboards", "app.digests")),
    ("answerers", ("app.agent", "app.questions")),
    ("answering contract", ("app.answering",)),
    ("tools", ("app.tools",)),
    ("insights", ("app.insights",)),
    ("semantic", ("app.semantic",)),
    ("guard", ("app.sqlguard", "app.audit")),
    ("store", ("app.store",)),
    ("core", ("app.config", "app.errors", "app.embeddings", "app.minilm", "app")),
    ("db", ("db",)),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("db/**/*.py")]:
        if "versions" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of ours that ``path`` imports, at the top or inside functions."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in named if name in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def layer_of(module: str) -> int:
    for depth, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return depth
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_imports_only_point_down():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) < layer_of(module)
    ]
    assert upward == []


def test_db_imports_nothing_from_app():
    assert [
        (m, t)
        for m, ts in graph().items()
        for t in ts
        if m.startswith("db") and t.startswith("app")
    ] == []


def test_there_are_no_import_cycles():
    edges = graph()

    def reachable(start: str) -> set[str]:
        found, todo = set(), list(edges[start])
        while todo:
            module = todo.pop()
            if module not in found:
                found.add(module)
                todo += edges[module]
        return found

    assert [module for module in sorted(edges) if module in reachable(module)] == []


def test_tools_are_named_only_in_their_own_module():
    """Everything else reads the registry (or its name constants)."""
    names = {tool.name for tool in registry.TOOLS}
    own = {tool.name: ROOT / "app" / "tools" / f"{tool.name}.py" for tool in registry.TOOLS}
    table = {"app/cli/db.py:133 names 'bundle_rules'"}  # the table's count in db rules --json
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} names {node.value!r}"
        for path in ROOT.glob("app/**/*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in names and path != own[node.value]
    ]
    assert set(found) - table == set()


def test_a_turns_rows_are_written_by_the_turn_writer_alone():
    writers = {"add_message", "create_session", "ensure_session"}
    callers = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.glob("app/**/*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) in writers
        and path.parent.name != "store"
    )
    assert set(callers) == {"app/turn/writer.py"}


def test_the_web_channel_writes_no_sql():
    """app/web asks the store (``app/store``, ``db``) for every row; it may name an engine's
    type, nothing else of SQLAlchemy (no ``text``, no statements of its own)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
        for path in ROOT.glob("app/web/**/*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        if name.split(".")[0] in ("sqlalchemy", "asyncpg") and name != "sqlalchemy.ext.asyncio"
    ]
    assert found == []
