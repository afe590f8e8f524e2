"""``HotDataRegistry``: fixtures by name, for apps, watchers and the pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._errors import DuplicateFixtureError, UnknownFixtureError
from ._hotdata import FixtureState, HotData
from ._names import validate_fixture_name

__all__ = ["HotDataRegistry", "hotdata_registry", "registry"]


class HotDataRegistry:
    """Named ``HotData`` handles.

    >>> reg = HotDataRegistry()
    >>> "agents/demo" in reg
    False
    """

    def __init__(self) -> None:
        self._handles: dict[str, HotData[Any]] = {}

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
        try:
            return self._handles[name]
        except KeyError:
            raise UnknownFixtureError(name, self.names()) from None

    def load(self, name: str) -> Any:
        """Shortcut for ``get(name).load()``."""
        return self.get(name).load()

    def names(self) -> list[str]:
        return sorted(self._handles)

    def list_stale(self) -> list[str]:
        """Names of every fixture that is not fresh (stale, missing, invalid or edited)."""
        return [n for n in self.names() if self._handles[n].status().state is not FixtureState.FRESH]

    def __contains__(self, name: object) -> bool:
        return name in self._handles

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._handles)


# The one explicit default registry; apps may create their own instead.
registry = HotDataRegistry()
hotdata_registry = registry
