"""Atomic writes: a reader never sees half a file or half a folder, and a crash leaves no partial result.

One helper for files (:func:`write_atomic`) and one for folders (:func:`staged_folder`); both write
into a temporary name beside the target, on the same file system, and rename it into place with
:func:`os.replace`, which is atomic there.

Example
-------
>>> import tempfile; from pathlib import Path
>>> out = write_atomic(Path(tempfile.mkdtemp()) / "a.txt", lambda tmp: tmp.write_text("hi"))
>>> out.read_text()
'hi'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: str | Path, write: Callable[[Path], object], *, fsync: bool = False,
                 overwrite: bool = True) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``; returns ``path``.

    The file gets ordinary permissions (0644). With ``fsync`` its bytes, and then its name, reach the
    disk. Without ``overwrite`` the file is linked into place only if ``path`` does not exist yet, else
    ``FileExistsError`` is raised (a rename would silently replace it). If ``write`` raises, the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the result is an ordinary data file
        write(tmp)
        if fsync:
            _fsync(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name exists
            tmp.unlink()
        if fsync:
            _fsync_folder(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged_folder(final: str | Path, *, replace: bool = True, fsync: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``final`` that becomes ``final`` when the ``with`` block ends cleanly.

    With ``replace`` an existing ``final`` is swapped out and deleted; without it an existing ``final``
    (another process finished first) is kept and the staged one dropped. With ``fsync`` every file in
    the folder reaches the disk before the rename. On an exception nothing changes at ``final``.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        if fsync:
            for file in tmp.iterdir():
                if file.is_file():
                    _fsync(file)
        if final.exists():
            if not replace:
                return
            stale = final.with_name(f".{final.name}.stale.{os.getpid()}")
            os.replace(final, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, final)
        final.chmod(0o755)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
