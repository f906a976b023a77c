"""The architecture holds: no import cycles among qrules' modules, no module reaching into another's
private names, and no command module importing the command line back (issue 12, item 4).

The import graph is built with ``ast`` from every ``import``, at module level and inside
functions alike: an import deferred into a function still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "qrules"

#: Import edges that still close a cycle, each with the reason it is not yet cut. The test fails
#: when one disappears too, so this list only shrinks.
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {
}

#: ``from .x import _name`` across modules that remain, with the reason. Shrinks the same way.
KNOWN_PRIVATE: dict[tuple[str, str, str], str] = {}


def _modules() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


def _imports(mods):
    """Yield (importer, imported module, name or None) for every import of a qrules module."""
    for mod, (path, is_pkg) in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    if f"{target}.{alias.name}" in mods:  # from . import ast: the submodule itself
                        yield mod, f"{target}.{alias.name}", None
                    elif target in mods:
                        yield mod, target, alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods:
                        yield mod, alias.name, None


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for importer, imported, _name in _imports(mods):
        if importer != imported:
            graph[importer].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "qrules.engine" in graph["qrules.cli"]  # cli imports the engine only inside cmd_evaluate
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = import_graph()
    for (a, b), why in KNOWN_CYCLE_EDGES.items():
        assert b in graph[a], f"{a} no longer imports {b}: remove it from KNOWN_CYCLE_EDGES ({why})"
        graph[a].discard(b)
    assert cycles(graph) == []


def test_no_cross_module_private_imports():
    mods = _modules()
    found = {(importer, imported, name) for importer, imported, name in _imports(mods)
             if name and name.startswith("_") and not name.startswith("__") and importer != imported}
    stale = set(KNOWN_PRIVATE) - found
    assert not stale, f"no longer imported: remove from KNOWN_PRIVATE: {sorted(stale)}"
    assert sorted(found - set(KNOWN_PRIVATE)) == [], "make the name public where it is shared, or move it"


@pytest.mark.parametrize("module", ["batch", "review", "casetest", "deadlines", "render", "tables", "columnar",
                                    "registry", "plan", "synth"])
def test_command_modules_do_not_import_the_cli(module):
    """They print and parse through ``qrules.console``; only ``cli`` dispatches to them."""
    graph = import_graph()
    name = f"qrules.{module}"
    if name not in graph:
        pytest.skip(f"{name} does not exist in this tree")
    assert "qrules.cli" not in graph[name]


def test_audit_does_not_import_deadlines():
    assert "qrules.deadlines" not in import_graph()["qrules.audit"]


def test_check_does_not_load_the_engine():
    """`qrules check` compiles and audits a ruleset; it never evaluates one, so it does not pay for
    importing the engine (a third of its start-up): the command line's `--require-in-force` flag
    lives with the versions (qrules.versions), not in the engine that reads it."""
    import subprocess
    import sys

    code = ("import sys; from qrules.cli import main; "
            "code = main(['check', 'rulesets/haojiang-2023.yaml']); "
            "print(code, 'qrules.engine' in sys.modules, 'polars' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT.parent, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-3:] == ["0", "False", "False"]
