"""Files hotdata writes: atomic replacement, and its local state directory (``.hotdata/``).

Every file hotdata writes goes to a temporary file in the same directory first, is
fsynced, then renamed into place: a reader sees the old file or the new one, never a
mix, whatever happens in between (kill -9 included).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ._errors import GenerationError

__all__ = ["ensure_state_dir", "find_project_root", "fsync_dir", "write_atomic", "write_temp"]


def _default_mode() -> int:
    umask = os.umask(0o022)  # read the umask (the only way) and put it back at once
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_mode()


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_temp(directory: Path, stem: str, payload: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes 0600 files; fixtures are ordinary readable files
        with contextlib.suppress(OSError):
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so readers see the old or new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path.parent, path.name, payload)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def ensure_state_dir(state_dir: Path) -> Path:
    """The project's local state directory (lock, caches), created with a ``.gitignore`` of ``*``
    so that nothing in it is ever committed, whatever the project's own ignore rules say."""
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(ignore, b"# hotdata's local state: never committed\n*\n")
        except OSError as exc:
            raise GenerationError(
                f"cannot create hotdata's local state directory {state_dir} ({exc.strerror or exc}); "
                "it keeps the build lock there: remove or rename what is in the way"
            ) from None
    return state_dir


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding a pyproject.toml (else ``start``)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return here
