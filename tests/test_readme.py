"""The README's "Use from Python" example runs as written, and ``core``'s public API is lazy and complete."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from tests.conftest import EMOTION, REPO, SHARED, needs_emotion, needs_minilm, run_main

HEAVY = ("torch", "transformers", "datasets", "gradio", "pandas", "sklearn", "umap")


def readme_example() -> str:
    """The first ``python`` block under the README's "Use from Python" heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Use from Python section has no python block"
    return match.group(1)


def test_importing_core_loads_nothing_heavy():
    code = f"import sys, core; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_public_name_is_its_module_object_and_the_example_uses_only_public_names():
    import core

    for name in core.__all__:
        module = importlib.import_module(core._MODULES[name])
        assert getattr(core, name) is getattr(module, name), name
    imported = re.search(r"from core import \(?([^)]*?)\)?\n\n", readme_example(), re.S)
    assert imported, "the README example does not import from core"
    names = {n.strip() for n in imported.group(1).replace("\n", " ").split(",") if n.strip()}
    assert names and names <= set(core.__all__), names - set(core.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        core.nothing_here  # noqa: B018


@pytest.mark.slow
@needs_minilm
@needs_emotion
def test_readme_python_example_runs(minilm_cache_dir, tmp_path, monkeypatch):
    """Run the block as a script in a folder beside the data (in this process: torch is imported once per
    run; a fresh interpreter's imports are :func:`test_importing_core_loads_nothing_heavy`'s); the cache of
    the test session is reused."""
    code = readme_example().replace('"../shared', f'"{SHARED}').replace('".cache"', f'"{minilm_cache_dir}"')
    monkeypatch.chdir(tmp_path)
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    out = run_main(lambda _: exec(compile(code, "README.md", "exec"), {"__name__": "__main__"}) or 0, [],
                   name="README")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "2000 samples, accuracy" in out.stdout and "\njoy\n" in out.stdout
    assert "1 relabelled" in out.stdout
    corrected = (tmp_path / "corrected" / "validation.txt").read_text(encoding="utf-8").splitlines()
    original = (EMOTION / "validation.txt").read_text(encoding="utf-8").splitlines()
    assert len(corrected) == len(original) == 2000
    changed = [i for i, (a, b) in enumerate(zip(original, corrected, strict=True)) if a != b]
    assert len(changed) == 1  # the one relabelled sample, and nothing else
    assert original[changed[0]].rsplit(";", 1)[0] == corrected[changed[0]].rsplit(";", 1)[0]
