"""``HotDataRegistry``: fixtures by name, for apps, watchers and the pytest plugin.

A fixture declared once with ``@fixture`` needs no second registration: its
provenance record names its schema (``generators.schemas:AgentSnapshot``), so
``registry.load("agent_snapshots/cockpit_demo")`` finds the file under the
registry's root, imports the schema by name and loads it.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._errors import DuplicateFixtureError, SchemaError, UnknownFixtureError
from ._freshness import FixtureState
from ._hotdata import HotData
from ._names import fixture_paths, validate_fixture_name
from ._provenance import read_provenance
from ._schema import import_schema

__all__ = ["HotDataRegistry", "find_fixtures_root", "hotdata_registry", "registry"]


def find_fixtures_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The project's fixtures directory: ``fixtures_dir`` of ``[tool.hotdata]`` in the nearest
    pyproject.toml at or above ``start`` (default: the working directory), else ``./fixtures``.
    ``HOTDATA_FIXTURES_DIR`` overrides the table, as it does for the build."""
    here = Path(start or Path.cwd()).resolve()
    for project in (here, *here.parents):
        pyproject = project / "pyproject.toml"
        if pyproject.is_file():
            try:
                tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                tool = {}
            # a table of another shape is the build's error to report; loading uses the default
            table = tool.get("hotdata", {}) if isinstance(tool, dict) else {}
            configured = table.get("fixtures_dir") if isinstance(table, dict) else None
            configured = os.environ.get("HOTDATA_FIXTURES_DIR") or configured or "fixtures"
            return project / str(configured)
    return here / "fixtures"


class HotDataRegistry:
    """Named ``HotData`` handles, registered by hand or found from their records.

    Args:
        root: where unregistered names are looked up (default: the project's
            fixtures directory, found from the working directory on first use).

    >>> reg = HotDataRegistry()
    >>> "agents/demo" in reg
    False
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = None if root is None else Path(root)
        self._handles: dict[str, HotData[Any]] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = find_fixtures_root()
        return self._root

    def register(self, name: str, hotdata: HotData[Any]) -> HotData[Any]:
        """Register ``hotdata`` under ``name``; returns the handle for chaining.

        Registering the same handle twice is harmless; a different handle under a
        taken name raises ``DuplicateFixtureError``.
        """
        validate_fixture_name(name)
        current = self._handles.get(name)
        if current is not None and current is not hotdata:
            raise DuplicateFixtureError(
                f"fixture name {name!r} is already registered for {current!r}; "
                "choose another name or unregister the first handle"
            )
        self._handles[name] = hotdata
        return hotdata

    def unregister(self, name: str) -> None:
        self._handles.pop(name, None)

    def get(self, name: str) -> HotData[Any]:
        """The handle for ``name``: registered, or found under ``root`` from its record."""
        handle = self._handles.get(name)
        if handle is None:
            handle = self._discover(name)
            self._handles[name] = handle
        return handle

    def _discover(self, name: str) -> HotData[Any]:
        data_path, meta_path = fixture_paths(self.root, name)
        if not data_path.exists():
            raise UnknownFixtureError(name, self.names())
        record = read_provenance(meta_path)  # ProvenanceError names the record
        if record is None:
            raise UnknownFixtureError(
                name,
                self.names(),
                f"{data_path} has no provenance record {meta_path.name}, so its schema is unknown",
            )
        # Schemas live in the project's modules (generators.schemas): importable from its root.
        project = str(self.root.resolve().parent)
        if project not in sys.path:
            sys.path.append(project)
        try:
            schema = import_schema(record.schema_name)
        except SchemaError as exc:
            raise SchemaError(
                f"fixture {name}: {meta_path} names schema {record.schema_name!r}, which cannot be "
                f"imported ({exc}). Install or fix that module, or register the fixture with "
                "registry.register(name, HotData(path, Schema))."
            ) from None
        return HotData(data_path, schema, name=name)

    def load(self, name: str) -> Any:
        """Shortcut for ``get(name).load()``."""
        return self.get(name).load()

    def names(self) -> list[str]:
        """Names of the handles registered or found so far."""
        return sorted(self._handles)

    def list_stale(self) -> list[str]:
        """Names of every known fixture that is not fresh (stale, missing, invalid or edited)."""
        return [n for n in self.names() if self._handles[n].status().state is not FixtureState.FRESH]

    def __contains__(self, name: object) -> bool:
        return name in self._handles

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._handles)


# The one explicit default registry; apps may create their own instead.
registry = HotDataRegistry()
# The name the seed's migration pattern imports (`from hotdata import HotData, hotdata_registry`).
hotdata_registry = registry
