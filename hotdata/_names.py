"""Fixture names: slash-separated relative paths that must stay inside the root."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InvalidFixtureName

__all__ = ["DATA_SUFFIX", "META_SUFFIX", "fixture_paths", "validate_fixture_name"]

DATA_SUFFIX = ".json"
META_SUFFIX = ".meta.json"
# Suffixes hotdata owns beside data files; a name ending in one would collide.
_RESERVED_ENDINGS = (".meta", ".pending", ".tmp", ".lock")


def validate_fixture_name(name: str) -> str:
    """Return ``name`` if it is a safe fixture name, else raise ``InvalidFixtureName``.

    >>> validate_fixture_name("agent_snapshots/cockpit_demo")
    'agent_snapshots/cockpit_demo'
    """
    if not isinstance(name, str):
        raise InvalidFixtureName(repr(name), "a fixture name must be a string")
    if not name:
        raise InvalidFixtureName(name, "the name is empty")
    if "\x00" in name:
        raise InvalidFixtureName(name, "it contains a NUL character")
    if "\\" in name:
        raise InvalidFixtureName(name, "it contains a backslash; use '/' between parts")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InvalidFixtureName(name, "it is an absolute path")
    if name.endswith(DATA_SUFFIX):
        raise InvalidFixtureName(name, "leave out the '.json' suffix")
    for part in name.split("/"):
        if part == "":
            raise InvalidFixtureName(name, "it has an empty path segment ('//' or a trailing '/')")
        if part in (".", ".."):
            raise InvalidFixtureName(name, f"it contains a {part!r} segment")
        if part.startswith("."):
            raise InvalidFixtureName(name, f"segment {part!r} starts with '.' (hidden files are reserved)")
        if any(ord(c) < 32 for c in part):
            raise InvalidFixtureName(name, "it contains a control character")
    if name.endswith(_RESERVED_ENDINGS):
        raise InvalidFixtureName(name, "it ends with a suffix hotdata reserves for its own files")
    return name


def fixture_paths(root: str | os.PathLike[str], name: str) -> tuple[Path, Path]:
    """Return ``(data_path, provenance_path)`` for ``name`` under ``root``.

    Raises ``InvalidFixtureName`` when the name is unsafe or resolves outside
    ``root`` (a symlinked directory pointing elsewhere included).
    """
    validate_fixture_name(name)
    root_path = Path(root)
    data = root_path.joinpath(*name.split("/")).with_name(name.rsplit("/", 1)[-1] + DATA_SUFFIX)
    meta = data.with_name(data.name[: -len(DATA_SUFFIX)] + META_SUFFIX)
    real_root = os.path.realpath(root_path)
    for candidate in (data, meta):
        real = os.path.realpath(candidate)
        if os.path.commonpath([real_root, real]) != real_root:
            raise InvalidFixtureName(
                name, f"it resolves to {real}, outside the fixtures root {real_root} (through a symlink)"
            )
    return data, meta
