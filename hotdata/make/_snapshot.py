"""The catalog snapshot: a no-op ``doit fixtures`` without importing the generator modules.

A build that found every fixture fresh remembers, in hotdata's local state
(``.hotdata/catalog-snapshot.json``, never committed), the fixture names, their paths and
what the local index needs to call each one fresh, keyed on everything the catalog can
depend on:

* the source files of the modules the run had loaded from the project (the generators,
  every helper module they import, ``dodo.py``) and of hotdata itself, by ``stat``, plus the
  listing of each of their directories, so a module added to a package is seen;
* ``pyproject.toml`` (``[tool.hotdata]``), the files declared with ``catalog_inputs=``, the
  catalog document and the failure log, by ``stat``; the templates, ad hoc declarations and
  batch jobs as trees (each file by ``stat``, each directory by its listing);
* the ``HOTDATA_*`` variables, ``PYTHONPATH``, the Python and hotdata versions, and the
  installed versions of the libraries ``ctx.sample`` draws from and of those that write what
  fingerprints hash (pydantic's JSON Schemas, jinja2's prompts), by their dist-info folders.

The next plain ``doit fixtures`` checks every key by ``stat`` and asks the local index
whether each fixture is still exactly as verified; any doubt (a key changed, a damaged
snapshot, a pending write, an expired ttl) and the catalog is imported as always. As for
the index, a file changed within a few seconds of the run that remembers it is not trusted
on its ``stat`` alone ("racy", as git calls it): no snapshot is written then.

This module is light on purpose (the standard library, hotdata's version and ``_files``):
the quick path imports neither pydantic nor the generators.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .._version import __version__
from ._files import ensure_state_dir, write_atomic

__all__ = [
    "FINGERPRINT_DISTRIBUTIONS",
    "RACY_NS",
    "SAMPLING_DISTRIBUTIONS",
    "SNAPSHOT_FILE",
    "SnapshotFixture",
    "environment_digest",
    "forget_snapshot",
    "installed_distributions",
    "fresh_catalog",
    "loaded_sources",
    "plain_fixtures_run",
    "read_snapshot",
    "snapshot_path",
    "write_snapshot",
]

SNAPSHOT_FORMAT = 1
SNAPSHOT_FILE = "catalog-snapshot.json"
# The index's racy-window rule: a file changed this close to the run is not trusted by stat.
RACY_NS = 3_000_000_000
# What a half-finished or staged write leaves beside a fixture (hotdata._store's suffixes).
_UNSETTLED = (".pending", ".new")
# A record dated this far in the future is stale (hotdata._freshness's clock skew).
_CLOCK_SKEW = timedelta(minutes=5)
# `doit`, `doit fixtures`, `doit run`, `doit run fixtures`: the only runs the snapshot answers.
_PLAIN: tuple[list[str], ...] = ([], ["fixtures"], ["run"], ["run", "fixtures"])

FileKey = list[int] | None


@dataclass(frozen=True)
class SnapshotFixture:
    """One fixture as remembered: absolute paths, the inputs digest the index holds, the ttl."""

    name: str
    data: str
    meta: str
    digest: str
    ttl: float | None  # seconds; counted from the record's generated_at


def snapshot_path(root: Path) -> Path:
    return root / ".hotdata" / SNAPSHOT_FILE


def plain_fixtures_run(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is a plain build: ``doit`` (or ``python -m doit``) with no option, no
    ``name=value`` and no other command or task than ``fixtures``."""
    if not argv:
        return False
    program = Path(argv[0])
    if program.name != "doit" and not (program.name == "__main__.py" and program.parent.name == "doit"):
        return False
    return list(argv[1:]) in _PLAIN


# The libraries ``ctx.sample`` draws values from: a fixture that sampled records their version,
# so an upgrade must not pass for "nothing changed" (their installed dist-info folders are keyed).
SAMPLING_DISTRIBUTIONS = ("faker",)
# The libraries that make what fingerprints hash, outside the project's files: pydantic writes
# the JSON Schemas, jinja2 renders the prompts. An upgrade that changes either makes fixtures
# stale on the full path, so the quick path must not call them fresh.
FINGERPRINT_DISTRIBUTIONS = ("pydantic", "pydantic_core", "jinja2")


def installed_distributions(names: Iterable[str], places: Iterable[str]) -> list[str]:
    """The ``<name>-<version>.dist-info`` folders of ``names`` in ``places`` (as ``sys.path``
    lists them), by listing only: nothing is imported and no metadata is read."""
    prefixes = tuple(f"{n.lower()}-" for n in names)
    found: list[str] = []
    for place in places:
        try:
            with os.scandir(place or ".") as entries:
                found.extend(
                    os.path.join(place, e.name)
                    for e in entries
                    if e.name.endswith(".dist-info") and e.name.lower().startswith(prefixes)
                )
        except OSError:
            continue  # a zip file, a missing folder
    return found


def environment_digest(environ: Mapping[str, str] | None = None) -> str:
    """Everything outside the files that the catalog and its fingerprints depend on."""
    env = os.environ if environ is None else environ
    parts = {
        "sampling": installed_distributions(SAMPLING_DISTRIBUTIONS, sys.path),
        "fingerprinting": installed_distributions(FINGERPRINT_DISTRIBUTIONS, sys.path),
        "hotdata": sorted((k, v) for k, v in env.items() if k.startswith("HOTDATA_")),
        "PYTHONPATH": env.get("PYTHONPATH", ""),
        "python": [sys.version, sys.platform, sys.prefix, sys.executable],
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _file_key(path: str) -> FileKey:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev]


def _importable(entry: os.DirEntry[str]) -> bool:
    """A module or package Python could import from a source directory (``helpers.py``, ``sub/``);
    not the caches, logs and data other tools write beside them (``.ruff_cache``, ``run.log``)."""
    name = entry.name
    if name.endswith(".py"):
        return name[:-3].isidentifier()
    return name.isidentifier() and name != "__pycache__" and entry.is_dir()


def _listing(directory: str, *, sources: bool) -> str | None:
    """The names in ``directory`` as a digest (None when it is missing); of a source directory
    only what could be imported from it counts."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(
                e.name for e in entries if (_importable(e) if sources else e.name != "__pycache__")
            )
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def _outside_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    places = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    places.update({sys.prefix, sys.base_prefix})
    return tuple(os.path.realpath(p) + os.sep for p in places if p)


def loaded_sources(root: Path, packages: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``(files, directories)``: the source of every loaded module of the project (under
    ``root``, outside any environment), of hotdata and of ``packages`` (the generator modules,
    wherever they are), and the directories holding them."""
    base = os.path.realpath(root) + os.sep
    outside = _outside_dirs()
    tops = {"hotdata", *(p.partition(".")[0] for p in packages)}
    files: set[str] = set()
    dirs: set[str] = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file:
            continue
        real = os.path.realpath(file)
        ours = real.startswith(base) and not real.startswith(outside)
        if not (ours or name.partition(".")[0] in tops):
            continue
        files.add(real)
        dirs.add(os.path.dirname(real))
        for place in getattr(module, "__path__", None) or ():
            if isinstance(place, str):
                dirs.add(os.path.realpath(place))
    return sorted(files), sorted(dirs)


def _tree(top: Path) -> tuple[list[str], list[str]]:
    """``(files, directories)`` under ``top`` (the directory itself included, present or not)."""
    files: list[str] = []
    dirs: list[str] = [str(top)]
    for here, subdirs, names in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        dirs.extend(os.path.join(here, d) for d in subdirs)
        files.extend(os.path.join(here, n) for n in sorted(names))
    return files, dirs


def forget_snapshot(root: Path) -> None:
    with contextlib.suppress(OSError):
        snapshot_path(root).unlink()


def _racy(key: FileKey, started_ns: int) -> bool:
    return key is not None and max(key[0], key[1]) > started_ns - RACY_NS


def write_snapshot(
    root: Path,
    fixtures: Sequence[SnapshotFixture],
    sources: tuple[Sequence[str], Sequence[str]],
    inputs: Iterable[Path],
    trees: Iterable[Path],
    env: str,
    started_ns: int,
) -> str | None:
    """Remember the catalog; None when written, else why not (and any older snapshot is
    forgotten): a key changed during the run or just before it cannot be trusted by ``stat``."""
    files = set(sources[0]) | {str(p) for p in inputs}
    tree_dirs: set[str] = set()
    for top in trees:
        found, where = _tree(top)
        files.update(found)
        tree_dirs.update(where)
    keys = {path: _file_key(path) for path in sorted(files)}
    listings = {path: _listing(path, sources=True) for path in sorted(set(sources[1]))}
    tree_listings = {path: _listing(path, sources=False) for path in sorted(tree_dirs)}
    for path in [*keys, *listings, *tree_listings]:
        if _racy(keys.get(path) or _file_key(path), started_ns):
            forget_snapshot(root)
            return f"{path} changed within {RACY_NS // 1_000_000_000}s of the run"
    doc = {
        "format": SNAPSHOT_FORMAT,
        "env": env,
        "files": keys,
        "listings": listings,
        "trees": tree_listings,
        "folders": sorted({os.path.dirname(f.meta) for f in fixtures}),
        "fixtures": [[f.name, f.data, f.meta, f.digest, f.ttl] for f in fixtures],
    }
    ensure_state_dir(root / ".hotdata")
    write_atomic(snapshot_path(root), json.dumps(doc, separators=(",", ":")).encode("utf-8"))
    return None


def _fixture(raw: Any) -> SnapshotFixture | None:
    if not (isinstance(raw, list) and len(raw) == 5 and all(isinstance(s, str) for s in raw[:4])):
        return None
    ttl = raw[4]
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
        return None
    return SnapshotFixture(raw[0], raw[1], raw[2], raw[3], None if ttl is None else float(ttl))


def read_snapshot(root: Path, env: str) -> dict[str, Any] | None:
    """The snapshot of ``root`` as written under ``env``; None when there is none, it was written
    under another environment, or it is not one hotdata wrote (damaged, hand-edited)."""
    try:
        doc = json.loads(snapshot_path(root).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT or doc.get("env") != env:
        return None
    files, listings, folders = doc.get("files"), doc.get("listings"), doc.get("folders")
    trees, raw = doc.get("trees"), doc.get("fixtures")
    if not all(isinstance(d, dict) for d in (files, listings, trees)) or not isinstance(raw, list):
        return None
    if not (isinstance(folders, list) and all(isinstance(f, str) for f in folders)):
        return None
    fixtures = [_fixture(r) for r in raw]
    if any(f is None for f in fixtures):
        return None
    return {"files": files, "listings": listings, "trees": trees, "folders": folders, "fixtures": fixtures}


def _ttl_holds(fixture: SnapshotFixture, now: datetime) -> bool:
    if fixture.ttl is None:
        return True
    try:
        record = json.loads(Path(fixture.meta).read_bytes())
        generated = datetime.fromisoformat(str(record["generated_at"]).replace("Z", "+00:00"))
        if generated.tzinfo is None:
            return False
        return generated <= now + _CLOCK_SKEW and now <= generated + timedelta(seconds=fixture.ttl)
    except (OSError, ValueError, TypeError, KeyError, OverflowError):
        return False  # the full path says what is wrong


def fresh_catalog(
    root: Path,
    is_fresh: Callable[[str, str, str, str], bool],
    env: str | None = None,
    *,
    now: datetime | None = None,
) -> list[SnapshotFixture] | None:
    """The remembered fixtures when every key is unchanged and every fixture is still as the
    local index verified it (``is_fresh(name, data, meta, digest)``); else None."""
    doc = read_snapshot(root, environment_digest() if env is None else env)
    if doc is None:
        return None
    try:
        return _fresh(doc, is_fresh, now or datetime.now(UTC))
    except (OSError, ValueError, TypeError):  # a hand-edited snapshot (a NUL in a path): not ours
        return None


def _fresh(
    doc: dict[str, Any], is_fresh: Callable[[str, str, str, str], bool], now: datetime
) -> list[SnapshotFixture] | None:
    for path, key in doc["files"].items():
        if _file_key(path) != key:
            return None
    for path, listing in doc["listings"].items():
        if _listing(path, sources=True) != listing:
            return None
    for path, listing in doc["trees"].items():
        if _listing(path, sources=False) != listing:
            return None
    for folder in doc["folders"]:
        if os.path.realpath(folder) != folder:
            return None  # a symlink: the full path checks where it leads
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        if any(n.endswith(_UNSETTLED) for n in names):
            return None  # a write to finish or a fixture staged for review: the full path reports it
    fixtures: list[SnapshotFixture] = doc["fixtures"]
    for f in fixtures:
        if not is_fresh(f.name, f.data, f.meta, f.digest) or not _ttl_holds(f, now):
            return None
    return fixtures
