"""``emotion-lens``: one command, a line of help per subcommand, each keeping its module's flags (issue 36).

The README's commands are checked here: they name only existing subcommands and flags those accept.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core import cli
from tests.conftest import REPO, run_main

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
HEAVY = ("torch", "transformers", "datasets", "gradio", "pandas", "numpy", "sklearn")
SCRIPT = Path(sys.executable).parent / "emotion-lens"  # the console script of `pip install -e .`
#: The installed command where it is installed (CI), else the same dispatcher by its module path.
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "core.cli"]


def readme_commands() -> list[str]:
    """Every ``emotion-lens <command> ...`` in the README, from the command to the end of its line or code span."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"emotion-lens [a-z][^`\n]*", text)


def flags(text: str) -> set[str]:
    return set(FLAG.findall(text))


def test_help_lists_every_command_on_one_line() -> None:
    out = run_main(cli.main, ["--help"], name="emotion-lens")
    assert out.returncode == 0 and out.stdout.startswith("usage: emotion-lens ")
    for name, (_, help_line) in cli.COMMANDS.items():
        assert re.search(rf"^  {name} +{re.escape(help_line)}$", out.stdout, re.M), name


@pytest.mark.parametrize(("argv", "message"), [([], "required: <command>"), (["trian"], "invalid choice: 'trian'"),
                                               (["--data", "x"], "required: <command>")])
def test_a_missing_or_unknown_command_is_a_usage_error(argv, message) -> None:
    out = run_main(cli.main, argv, name="emotion-lens")
    assert out.returncode == 2 and message in out.stderr and "usage: emotion-lens" in out.stderr


def test_a_new_command_is_one_table_line(tmp_path, monkeypatch) -> None:
    """A module with ``main(argv)`` joins with one entry; it gets the flags after its name and the prog name."""
    (tmp_path / "toy_command.py").write_text(textwrap.dedent("""
        import argparse

        def main(argv):
            p = argparse.ArgumentParser()
            p.add_argument("--n", type=int, required=True)
            args = p.parse_args(argv)
            print(p.prog, args.n)
            return args.n
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "toy", ("toy_command", "a toy command"))
    before = sys.argv[0]
    out = run_main(cli.main, ["toy", "--n", "3"], name="emotion-lens")
    assert (out.returncode, out.stdout) == (3, "emotion-lens toy 3\n") and sys.argv[0] == before
    bad = run_main(cli.main, ["toy", "--n", "x"], name="emotion-lens")
    assert bad.returncode == 2 and "usage: emotion-lens toy" in bad.stderr and sys.argv[0] == before
    assert "a toy command" in run_main(cli.main, ["--help"]).stdout


def test_importing_the_command_loads_no_command_module() -> None:
    code = ("import sys, core.cli; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'dashboard', *{HEAVY!r}) "
            "or (m.startswith('core.') and m != 'core.cli')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


def test_every_command_module_defines_main_taking_argv() -> None:
    for name, (module, _) in cli.COMMANDS.items():
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, f"{name}: no module {module}"
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        mains = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "main"]
        assert mains and [a.arg for a in mains[0].args.args] == ["argv"], f"{name}: {module}.main(argv) missing"


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_command_keeps_its_modules_flags_and_the_readmes(name) -> None:
    """``emotion-lens <name> --help`` is the module's own help under the command's name, and accepts every flag
    the README gives that command."""
    out = run_main(cli.main, [name, "--help"], name="emotion-lens")
    assert out.returncode == 0 and out.stdout.startswith(f"usage: emotion-lens {name} "), out.stderr[-2000:]
    own = run_main(importlib.import_module(cli.COMMANDS[name][0]).main, ["--help"])
    assert own.returncode == 0 and flags(out.stdout) == flags(own.stdout) and len(flags(own.stdout)) > 1
    subcommands = getattr(importlib.import_module(cli.COMMANDS[name][0]), "COMMANDS", ())
    for line in readme_commands():
        words = line.split()
        if words[1] == name:
            if len(words) > 2 and words[2] in subcommands:  # e.g. `emotion-lens audit draw`: that one's flags
                helped = run_main(cli.main, [name, words[2], "--help"], name="emotion-lens").stdout
            else:
                helped = out.stdout
            assert flags(line) <= flags(helped), (line, flags(line) - flags(helped))


def test_the_readme_uses_the_command_with_existing_subcommands() -> None:
    commands = readme_commands()
    named = {line.split()[1] for line in commands}
    assert {"app", "train", "precompute"} <= named, named
    assert named <= set(cli.COMMANDS), named - set(cli.COMMANDS)
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    old = [line for block in blocks for line in block.splitlines() if re.search(r"python (-m core\.|app\.py)", line)]
    assert not old, old
    assert any("pip install -e ." in block for block in blocks)


def test_pyproject_installs_the_command_with_requirements_txt() -> None:
    """The package's dependencies are requirements.txt's lines as setuptools reads them, each a valid requirement
    (setuptools' pyproject reader keeps an inline ``# comment``, so comments sit on their own lines)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from setuptools.config.pyprojecttoml import read_configuration

    project = read_configuration(REPO / "pyproject.toml", expand=True)["project"]
    assert project["scripts"]["emotion-lens"] == "core.cli:main"
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert project["dependencies"] == [line for line in lines if line and not line.startswith("#")]
    for dependency in project["dependencies"]:
        try:
            Requirement(dependency)
        except InvalidRequirement as exc:
            pytest.fail(f"requirements.txt: {dependency!r} is not a requirement pip and setuptools both read: {exc}")
    assert len(project["dependencies"]) > 10


@pytest.mark.slow
@pytest.mark.parametrize("name", ["", *cli.COMMANDS])
def test_the_command_in_a_fresh_interpreter(name) -> None:
    """``emotion-lens [<name>] --help`` as a user runs it (the installed script in CI): exit 0, the command's
    usage line and the same flags as in-process."""
    argv = [name, "--help"] if name else ["--help"]
    out = subprocess.run([*COMMAND, *argv], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith(f"usage: emotion-lens {name}".rstrip() + " ")
    assert flags(out.stdout) == flags(run_main(cli.main, argv).stdout)
