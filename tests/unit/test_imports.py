"""The shape of the code, read with `ast`: no import circles in handlers/, bot/ or catalog/, no modules loaded
from strings, and a router that imports every feature by name."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("handlers", "bot", "catalog")
# handlers/ modules that are shared building blocks, not features the router dispatches to.
NOT_FEATURES = frozenset({
    "handlers", "handlers.router", "handlers.context", "handlers.messages", "handlers.cards", "handlers.intent",
    "handlers.lookup", "handlers.payloads", "handlers.state", "handlers.needs", "handlers.department",
})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic loads its scripts itself
            found[module_name(path)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules `name` imports at run time, wherever in the file (functions too; not TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def add(target: str) -> None:
        # "catalog.search.SearchIndex" → the longest known module prefix.
        parts = target.split(".")
        for n in range(len(parts), 0, -1):
            candidate = ".".join(parts[:n])
            if candidate in known:
                if candidate != name:
                    out.add(candidate)
                return

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                add(f"{source}.{alias.name}")  # `from handlers import cards` imports the module handlers.cards
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def test_the_reader_sees_imports_in_functions_and_relative_ones() -> None:
    """The checker itself: a function-local import and a relative import are edges, TYPE_CHECKING ones are not."""
    graph = import_graph()
    assert "bot.app" in graph["bot.cli"], "cli imports the run command's module inside a function"
    assert "catalog.sessions" in graph["handlers.router"]
    assert "bot.config" not in graph["handlers.context"], "a TYPE_CHECKING import is not a run-time edge"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    assert cycles(import_graph()) == []


def test_no_module_is_loaded_from_a_string() -> None:
    """importlib.import_module / __import__ hide who depends on whom from readers and from this test."""
    offenders = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("import_module", "__import__"):
                    offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_the_router_imports_every_feature_by_name() -> None:
    graph = import_graph()
    features = {name for name in graph if name.startswith("handlers.") and name not in NOT_FEATURES}
    assert {"handlers.enquiry", "handlers.products", "handlers.staff"} <= features
    assert features - graph["handlers.router"] == set()


def test_layers_point_down() -> None:
    """catalog/ knows nothing of chats; handlers/ imports neither channels nor the running program."""
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("catalog"):
            assert not {t for t in targets if not t.startswith("catalog")}, name
        if name.startswith("handlers"):
            assert not {t for t in targets if t.startswith("bot")}, name
