"""The shape of the code: stages import only downward, the engine stays a pure library, things stay small.

Read from the source with ``ast`` (nothing is imported), so a violation names
the file and line that brings it in.
"""
from __future__ import annotations

import ast
from pathlib import Path

import mccabe
import pytest

from support import REPO

# Each package's layer; a module may import only from its own layer or below it.
LAYERS = (
    # The packages themselves only document their stages and export names lazily (PEP 562).
    ("supportpolicy.engine", "supportpolicy.engine.errors", "supportpolicy.engine.vocabulary", "supportpolicy.engine.instants",
     "supportpolicy.engine.resources", "supportpolicy.engine.calendar", "supportpolicy.engine.terms",
     "supportpolicy.engine.model", "supportpolicy.engine.clockterms"),
    ("supportpolicy.engine.load",),
    ("supportpolicy.engine.decide",),
    ("supportpolicy.engine.clock", "supportpolicy.engine.charge"),
    ("supportpolicy.engine.tools",),
    ("supportpolicy.server.storage",),
    ("supportpolicy.server",),
)
# What the pure library never imports: the web, the command line, stores, servers, file watching.
NOT_IN_ENGINE = ("flask", "werkzeug", "click", "gunicorn", "sqlite3", "psycopg", "fcntl", "watchdog",
                 "prometheus_client")
MAX_COMPLEXITY = 15
MAX_LINES = 330


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("engine", "server"):
        for path in sorted((REPO / top).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(("supportpolicy",) + (parts[:-1] if parts[-1] == "__init__" else parts))
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module an import statement names (anywhere in the file), with its line."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from package import module` imports the module; `from module import name`, the module.
            submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            names.extend((name, node.lineno) for name in submodules or [node.module])
    return names


def _layer(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (module.startswith(prefix + ".") and prefix != "supportpolicy.engine"):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def test_imports_only_run_downward():
    upward = []
    for module, path in MODULES.items():
        for imported, line in _imports(path):
            if imported in MODULES and _layer(imported) > _layer(module):
                upward.append(f"{path.relative_to(REPO)}:{line}: {module} imports {imported}, a later stage")
    assert upward == []


def test_the_imports_have_no_circle():
    graph = {m: {i for i, _ in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}
    state, circles = {}, []

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                circles.append(" -> ".join(trail[trail.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, trail + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_engine_is_a_pure_library():
    found = []
    for module, path in MODULES.items():
        if not module.startswith("supportpolicy.engine"):
            continue
        source = ast.parse(path.read_text(encoding="utf-8"))
        for imported, line in _imports(path):
            if imported.split(".")[0] in NOT_IN_ENGINE or imported.startswith("supportpolicy.server"):
                found.append(f"{path.relative_to(REPO)}:{line}: imports {imported}")
        for node in ast.walk(source):  # a lock is allowed; starting a thread is not
            if isinstance(node, ast.Attribute) and node.attr in ("Thread", "Timer"):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: uses threading.{node.attr}")
    assert found == []


def test_storage_knows_nothing_of_http():
    found = [f"{path.relative_to(REPO)}:{line}: imports {imported}"
             for module, path in MODULES.items() if module.startswith("supportpolicy.server.storage")
             for imported, line in _imports(path)
             if imported.split(".")[0] in ("flask", "werkzeug", "click", "gunicorn")
             or (imported.startswith("supportpolicy.server") and not imported.startswith("supportpolicy.server.storage"))]
    assert found == []


def _complex_functions(path: Path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    visitor = mccabe.PathGraphingAstVisitor()
    visitor.preorder(ast.parse(source), visitor)
    for graph in visitor.graphs.values():
        if graph.complexity() <= MAX_COMPLEXITY:
            continue
        around = " ".join(lines[max(graph.lineno - 2, 0):graph.lineno + 1])
        if "# complexity:" not in around:  # a reason, given beside the definition
            yield f"{path.relative_to(REPO)}:{graph.lineno}: {graph.entity} has complexity {graph.complexity()}"


@pytest.mark.parametrize("top", ["engine", "server", "benchmarks"])
def test_no_function_is_more_complex_than_fifteen_without_a_reason(top):
    found = [f for path in sorted((REPO / top).rglob("*.py")) for f in _complex_functions(path)]
    assert found == []


def test_every_module_reads_in_one_sitting():
    long = [f"{path.relative_to(REPO)}: {count} lines" for path in MODULES.values()
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []
