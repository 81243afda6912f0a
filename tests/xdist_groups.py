"""``--dist loadgroup`` that works on this pytest: the tests of one ``xdist_group`` run on one worker.

pytest-xdist 3.8 groups by appending ``@group`` to each test's node id on the workers; pytest 9.2's structured
node ids ignore that write, so the groups are silently dropped and a session server is started on both
workers (pytest-dev/pytest-xdist#1386). Here the workers write each grouped test's group to a file instead,
and the controller's scheduler (:class:`GroupScheduling`, pytest-xdist's own ``loadgroup`` scheduler) reads it.
Groups are handed out largest first; ungrouped tests go one by one to whichever worker is free.

tests/conftest.py imports the hooks and calls :func:`write_worker_groups`; a node id that already ends in
``@group`` (a pytest-xdist where the bug is fixed) is grouped as pytest-xdist would.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

#: The folder, shared by the controller with the workers it starts, where each worker writes its groups.
GROUPS_DIR = "PYTEST_XDIST_GROUPS_DIR"


def _groups_wanted(config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup"


def pytest_configure(config) -> None:
    """On the controller: a fresh folder for the workers' groups (they inherit its path)."""
    if _groups_wanted(config) and not hasattr(config, "workerinput") and config.getoption("numprocesses"):
        os.environ[GROUPS_DIR] = tempfile.mkdtemp(prefix="pytest-xdist-groups-")


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput") and os.environ.get(GROUPS_DIR):
        shutil.rmtree(os.environ.pop(GROUPS_DIR), ignore_errors=True)


def write_worker_groups(config, items) -> None:
    """On a worker: ``{node id: group}`` of its grouped tests, to ``<GROUPS_DIR>/<worker>.json`` (called once the
    markers are set; tests that ``-m`` deselects later are never scheduled, so their entries are never read)."""
    folder = os.environ.get(GROUPS_DIR)
    if not folder or not hasattr(config, "workerinput"):
        return
    groups = {}
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names:
            groups[item.nodeid] = "_".join(names)
    target = Path(folder) / f"{config.workerinput['workerid']}.json"
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(groups))
    partial.replace(target)


def read_groups(folder: str | None) -> dict[str, str]:
    """Every worker's ``{node id: group}`` (they collect the same tests); empty where none was written."""
    groups: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.json")) if folder else ():
        groups.update(json.loads(path.read_text()))
    return groups


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's ``loadgroup`` scheduler, with the groups the workers wrote."""
    if not _groups_wanted(config):
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        groups: dict[str, str] = {}

        def schedule(self) -> None:
            if self.collection is None:  # the first call: every worker has collected and written its groups
                self.groups = read_groups(os.environ.get(GROUPS_DIR))
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return GroupScheduling(config, log)
