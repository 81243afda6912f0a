"""The layers hold (issue 36): every import in ``core/``, ``dashboard/`` and ``app.py`` goes down one order.

Every import is read with ``ast``, wherever it sits: at the top, inside a function, under
``TYPE_CHECKING``, relative, or a literal ``importlib.import_module("...")``. An import of a module
that is not a file of ours counts as its nearest parent that is one (``core.x.name`` -> ``core.x``).
The order, lowest first (:data:`LAYERS`); a module imports its own package, or a lower layer, only:

    data (settings, files, redact, row keys) < classifier < explanation < analysis
    < review, datahealth < audit < services < dashboard < app.py (with core's facade and CLI)

Modules of one layer import each other only at the bottom (data) and the top (entry points), and
nowhere does a package cycle or a file cycle form.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

#: Units (a package, a top-level module) by layer, lowest first.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core.settings", "core.files", "core.redact", "core.data"),  # data: settings, files, row identity (keys)
    ("core.classifier",),
    ("core.explanation",),
    ("core.analysis",),
    ("core.review", "core.datahealth"),
    ("core.audit",),  # an audit keeps its judgements in the review store
    ("core.services",),
    ("dashboard",),
    ("app", "core", "core.cli", "core.__main__"),  # entry points, and core's lazy public facade (core/__init__.py)
)
RANK = {unit: i for i, units in enumerate(LAYERS) for unit in units}
#: Layers whose units may import each other (the cycle checks still apply).
SHARED = {0, len(LAYERS) - 1}
#: What app.py may import from core.
APP_MAY_IMPORT = ("core.services", "core.settings")
#: File cycles excused for now, each exactly: the signal registry's rewrite (issue 36, "a signal is one file")
#: removes them. Delete an entry once its cycle is gone; the test then keeps it gone.
EXCUSED_CYCLES: tuple[frozenset[str], ...] = ()


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path) -> dict[str, Path]:
    """Module name -> file, for ``core/``, ``dashboard/`` and ``app.py`` under ``root``."""
    files = [*(root / "core").rglob("*.py"), *(root / "dashboard").rglob("*.py"), root / "app.py"]
    return {module_name(f, root): f for f in files if f.is_file()}


def _named(node: ast.AST, package: str, modules: dict) -> list[str]:
    """The dotted names one node imports (``from a import b`` names ``a.b`` when that is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, *([base] if base else [])])
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "import_module" and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def import_graph(root: Path = REPO) -> dict[str, dict[str, int]]:
    """Module -> {imported module of ours: first line}, every import at any depth."""
    modules = source_files(root)
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = graph.setdefault(name, {})
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for target in _named(node, package, modules):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.setdefault(target, node.lineno)
    return graph


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] != "core" or len(parts) == 1 else ".".join(parts[:2])


def upward(graph: dict[str, dict[str, int]]) -> list[str]:
    """Imports that break the order, and modules in no layer."""
    bad = sorted(f"{m} is in no layer of LAYERS" for m in graph if unit(m) not in RANK)
    for a, edges in graph.items():
        for b, line in edges.items():
            ua, ub = unit(a), unit(b)
            if ua == ub or ua not in RANK or ub not in RANK:
                continue
            if RANK[ub] > RANK[ua] or (RANK[ub] == RANK[ua] and RANK[ua] not in SHARED):
                bad.append(f"{a}:{line} imports {b} ({ub} is not below {ua})")
    return bad


def cycles(graph: dict[str, dict[str, int]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def app_beyond_services(graph: dict[str, dict[str, int]]) -> list[str]:
    """What app.py imports from core other than :data:`APP_MAY_IMPORT`."""
    core = [m for m in graph.get("app", {}) if unit(m).startswith("core")]
    return [m for m in core if not any(m == p or m.startswith(p + ".") for p in APP_MAY_IMPORT)]


def package_graph(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for a, edges in graph.items():
        for b, line in edges.items():
            if unit(a) != unit(b):
                out.setdefault(unit(a), {}).setdefault(unit(b), line)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def test_every_import_goes_down_the_layers(graph):
    assert len(graph) > 100 and "app" in graph and "core.services.emotion" in graph  # the walk found the files
    assert upward(graph) == []


def test_no_package_cycle(graph):
    assert cycles(package_graph(graph)) == []


def test_no_file_cycle(graph):
    found = cycles(graph)
    assert [sorted(c) for c in found if c not in EXCUSED_CYCLES] == []


def test_app_reaches_core_through_the_services_and_settings_only(graph):
    assert "core.services.emotion" in graph["app"]  # app.py does import core
    assert app_beyond_services(graph) == []


def test_the_check_sees_lazy_relative_and_type_checking_imports(tmp_path: Path):
    """A toy tree with one import of each kind that breaks a rule: every one is reported."""
    for rel, text in {
        "app.py": "from core.analysis.table import x\n",
        "core/__init__.py": "",
        "core/data/__init__.py": "",
        "core/data/rows.py": "import typing\nif typing.TYPE_CHECKING:\n    from core.review.store import S\n",
        "core/analysis/__init__.py": "",
        "core/analysis/table.py": "def f():\n    from .cache import g\n",
        "core/analysis/cache.py": "import importlib\nimportlib.import_module('core.analysis.table')\n",
        "core/review/__init__.py": "",
        "core/review/store.py": "from core.data import rows\n",
        "core/newpkg/__init__.py": "",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    toy = import_graph(tmp_path)
    assert toy["core.analysis.table"] == {"core.analysis.cache": 2}  # lazy and relative
    assert toy["core.analysis.cache"] == {"core.analysis.table": 2}  # a literal import_module
    assert upward(toy) == ["core.newpkg is in no layer of LAYERS",
                           "core.data.rows:3 imports core.review.store (core.review is not below core.data)"]
    assert sorted(map(sorted, cycles(toy))) == [["core.analysis.cache", "core.analysis.table"],
                                                ["core.data.rows", "core.review.store"]]
    assert cycles(package_graph(toy)) == [frozenset({"core.data", "core.review"})]
    assert app_beyond_services(toy) == ["core.analysis.table"]
