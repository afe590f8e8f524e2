"""After a build run: remember the catalog for the next no-op run (``_snapshot``), or forget it."""

from __future__ import annotations

import contextlib
import os

from .._snapshot import SnapshotFixture, forget_snapshot, loaded_sources, write_snapshot
from ._workspace import Workspace

__all__ = ["remember_catalog"]


def remember_catalog(ws: Workspace, started_ns: int, env: str) -> str | None:
    """Write the catalog snapshot when this run verified every fixture fresh; None when written,
    else why not (any older snapshot is then forgotten).

    The snapshot is a cache: whatever goes wrong here costs the next run its quick path, never
    this build."""
    try:
        why = _remember(ws, started_ns, env)
    except Exception as exc:  # a cache: it must never fail a build
        why = f"{type(exc).__name__}: {exc}"
    if why is not None:
        with contextlib.suppress(Exception):
            forget_snapshot(ws.config.root)
    return why


def _remember(ws: Workspace, started_ns: int, env: str) -> str | None:
    config, planner = ws.config, ws.planner
    if not config.catalog_cache:
        return "catalog_cache = false"
    if ws.switches.force:
        return "force=1"
    with contextlib.suppress(FileNotFoundError):
        if os.listdir(config.batches_path):
            return "batch jobs are waiting in fixtures/.batches"
    fixtures: list[SnapshotFixture] = []
    plain: dict[str, bool] = {}  # folder -> no symlink on its way (realpath once per folder)
    for spec in planner.catalog:
        digest = planner.verified_digest(spec)
        if digest is None:
            return f"{spec.name} was not verified fresh by this run"
        data, meta = planner.paths(spec)
        folder = os.path.dirname(meta)
        if folder not in plain:
            plain[folder] = os.path.realpath(folder) == folder
        if not plain[folder] or os.path.dirname(data) != folder:
            return f"{spec.name} is not under a plain directory"
        ttl = planner.inputs(spec).ttl
        fixtures.append(
            SnapshotFixture(
                spec.name, str(data), str(meta), digest, None if ttl is None else ttl.total_seconds()
            )
        )
    root = config.root
    inputs = [root / p for p in planner.catalog.inputs]
    inputs += [
        root / "pyproject.toml",
        root / "dodo.py",
        config.fixtures_path / "README.md",
        config.state_path / "failures.json",
    ]
    trees = [config.templates_path, config.fixtures_path / ".adhoc", config.batches_path]
    sources = loaded_sources(root, config.generators)
    return write_snapshot(root, fixtures, sources, inputs, trees, env, started_ns)
