"""Fixture names: slash-separated relative paths that must stay inside the root."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InvalidFixtureName

__all__ = ["DATA_SUFFIX", "META_SUFFIX", "PathCache", "fixture_paths", "validate_fixture_name"]

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


class PathCache:
    """Resolved directories and their symlinked entries, shared by many ``fixture_paths`` calls.

    One ``scandir`` per directory replaces two ``lstat`` calls per fixture, which
    matters when thousands of fixtures are checked in one run.
    """

    def __init__(self) -> None:
        self.realpaths: dict[str, str] = {}
        self.symlinks: dict[str, frozenset[str]] = {}
        self.names: dict[str, frozenset[str]] = {}

    def realpath(self, path: str) -> str:
        real = self.realpaths.get(path)
        if real is None:
            real = self.realpaths[path] = os.path.realpath(path)
        return real

    def _scan(self, directory: str) -> None:
        try:
            with os.scandir(directory) as entries:
                listed = [(e.name, e.is_symlink()) for e in entries]
        except OSError:
            listed = []
        self.names[directory] = frozenset(n for n, _ in listed)
        self.symlinks[directory] = frozenset(n for n, link in listed if link)

    def listing(self, directory: str) -> frozenset[str]:
        if directory not in self.names:
            self._scan(directory)
        return self.names[directory]

    def linked(self, directory: str) -> frozenset[str]:
        if directory not in self.symlinks:
            self._scan(directory)
        return self.symlinks[directory]

    def clear(self) -> None:
        self.realpaths.clear()
        self.symlinks.clear()
        self.names.clear()


def fixture_paths(
    root: str | os.PathLike[str], name: str, cache: PathCache | None = None
) -> tuple[Path, Path]:
    """Return ``(data_path, provenance_path)`` for ``name`` under ``root``.

    Raises ``InvalidFixtureName`` when the name is unsafe or resolves outside
    ``root`` (a symlinked directory or file pointing elsewhere included).
    """
    validate_fixture_name(name)
    cache = cache or PathCache()
    root_str = os.fspath(root)
    *dirs, leaf = name.split("/")
    parent = os.path.join(root_str, *dirs)
    data_name, meta_name = leaf + DATA_SUFFIX, leaf + META_SUFFIX
    real_root = cache.realpath(root_str)
    candidates = [cache.realpath(parent)]
    linked = cache.linked(parent)
    for entry in (data_name, meta_name):
        if entry in linked:
            candidates.append(os.path.realpath(os.path.join(parent, entry)))
    for real in candidates:
        if real != real_root and not real.startswith(real_root + os.sep):
            raise InvalidFixtureName(
                name, f"it resolves to {real}, outside the fixtures root {real_root} (through a symlink)"
            )
    return Path(parent, data_name), Path(parent, meta_name)
