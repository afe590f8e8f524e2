"""Where in the user's code: the line of a generator, a declaration or a ``ctx`` call.

Errors and refusals name the user's file and line, never hotdata's own (a bad ``@fixture``
option is raised inside hotdata, a bad field inside pydantic; ``ctx.write`` runs inside
hotdata but is called from one line of a generator).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["call_site", "located", "user_frame"]

_INSTALLED = tuple(
    sorted(
        {
            os.path.realpath(p)
            for p in (
                str(Path(__file__).resolve().parents[1]),  # the hotdata package
                sysconfig.get_path("stdlib"),
                sysconfig.get_path("purelib"),
                sysconfig.get_path("platlib"),
            )
        }
    )
)


@functools.cache  # a pure function of the file name; each ctx call walks a few frames
def _installed(filename: str) -> bool:
    """Whether a frame's file is hotdata's, the standard library's or an installed package's."""
    if filename.startswith("<"):
        return True  # importlib's frozen frames, exec'd strings
    path = os.path.realpath(filename)
    return any(path.startswith(place + os.sep) for place in _INSTALLED)


def user_frame(frames: Sequence[traceback.FrameSummary]) -> traceback.FrameSummary | None:
    """The innermost frame in the user's code, else the innermost frame (None when none)."""
    theirs = [f for f in frames if not _installed(f.filename)] or list(frames)
    return theirs[-1] if theirs else None


def located(tb: TracebackType | None) -> str:
    """`` (file, line N)`` of the user's innermost frame of a traceback, or ''."""
    frame = user_frame(traceback.extract_tb(tb))
    return f" ({frame.filename}, line {frame.lineno})" if frame is not None else ""


def call_site() -> str:
    """``file:line`` of the user's code that called into hotdata (the caller's caller, outward)."""
    frame = sys._getframe(1)
    while frame is not None:
        if not _installed(frame.f_code.co_filename):
            return f"{_shown(frame.f_code.co_filename)}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def _shown(filename: str) -> str:
    """A path relative to the working directory (the project) when it is inside it."""
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive
        return filename
    return filename if shown.startswith("..") else shown
