"""The dashboard reaches core only through the services (issue 30): an import of anything else fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

#: What a dashboard module may import from core: the service modules and the settings object.
ALLOWED_PREFIXES = ("core.services", "core.settings")


def core_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of ``core`` in one file, at any depth (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "core"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "core":
            if node.module == "core":  # ``from core import x``: x names a subpackage or a public name
                found += [(node.lineno, f"core.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return sorted(found)


def allowed(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in ALLOWED_PREFIXES)


def test_dashboard_modules_import_only_core_services_and_settings():
    files = sorted((REPO / "dashboard").rglob("*.py"))
    assert len(files) > 10  # the walk found the package
    bad = [f"{f.relative_to(REPO)}:{line} imports {module}"
           for f in files for line, module in core_imports(f) if not allowed(module)]
    assert bad == []


def test_the_check_sees_lazy_and_aliased_core_imports(tmp_path: Path):
    sample = tmp_path / "view.py"
    sample.write_text("import core.review.store as s\n"
                      "def f():\n    from core.analysis.workspace import Analysis\n"
                      "from core import services, review\n"
                      "from core.services.reviews import ReviewService\n")
    found = [m for _, m in core_imports(sample)]
    assert found == ["core.review.store", "core.analysis.workspace", "core.review", "core.services",
                     "core.services.reviews"]
    assert [m for m in found if not allowed(m)] == ["core.review.store", "core.analysis.workspace", "core.review"]
