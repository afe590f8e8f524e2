"""hotdata's pytest plugin (registered through the ``pytest11`` entry point).

Gives tests the same rich data as demos, through the same load path:

* the ``hotdata`` fixture: ``hotdata.load("agent_snapshots/cockpit_demo")`` for a
  registered fixture (or ``hotdata.load(name, Schema)`` for any fixture file);
* ``hotdata_fixture(handle, default=...)``: declares a named pytest fixture from a
  ``HotData`` handle, with an optional fallback — in conftest.py::

      rich_agent_snapshot = hotdata_fixture(
          HotData("fixtures/agent_snapshots/soul_deliberating.json", AgentSnapshot),
          default=lambda: AgentSnapshot(id="fallback", ...),
      )

Options: ``--hotdata-strict`` (or ``HOTDATA_STRICT=1``) fails a test whose fixture is
missing, invalid or stale instead of falling back; ``--hotdata-report`` prints, at
the end, which fixtures tests used and which were stale, missing or fell back.
The plugin only loads JSON: it never imports the build side and never calls a model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ._errors import FixtureInvalidError, FixtureMissingError
from ._hotdata import FixtureState, HotData
from ._registry import HotDataRegistry, registry

__all__ = ["HotDataAccess", "hotdata_fixture"]

T = TypeVar("T")
_MISSING: Any = object()


@dataclass
class _Use:
    name: str
    path: str
    state: str
    reason: str
    fell_back: bool = False


@dataclass
class _Session:
    strict: bool
    root: Path
    registry: HotDataRegistry
    uses: dict[str, _Use] = field(default_factory=dict)

    def resolve(self, handle: HotData[Any], default: Any, name: str | None = None) -> Any:
        """The fixture's value, or the default, or a failure: by state and strictness."""
        label = name or handle.name
        status = handle.status()
        use = _Use(label, str(handle.path), status.state.value, status.reason)
        self.uses[label] = use
        if self.strict and status.state is not FixtureState.FRESH:
            pytest.fail(
                f"hotdata fixture {label} is {status.state.value}: {status.reason} ({handle.path}). "
                "Rebuild it with `doit fixtures`, or run without --hotdata-strict to allow fallbacks.",
                pytrace=False,
            )
        try:
            return handle.load()
        except (FixtureMissingError, FixtureInvalidError) as exc:
            if default is _MISSING:
                pytest.fail(f"hotdata fixture {label}: {exc}", pytrace=False)
            use.fell_back = True
            if isinstance(exc, FixtureInvalidError):
                import warnings

                from ._errors import HotDataWarning

                warnings.warn(f"using the default for {label}: {exc}", HotDataWarning, stacklevel=2)
            return default() if callable(default) else default


_KEY = pytest.StashKey[_Session]()


class HotDataAccess:
    """What the ``hotdata`` fixture gives a test."""

    def __init__(self, session: _Session) -> None:
        self._session = session

    @property
    def registry(self) -> HotDataRegistry:
        return self._session.registry

    def handle(self, name: str, schema: Any = None) -> HotData[Any]:
        """The registered handle for ``name``, or a new one under the fixtures root for ``schema``."""
        if name in self._session.registry or schema is None:
            return self._session.registry.get(name)
        return HotData.from_name(self._session.root, name, schema)

    def load(self, name: str, schema: Any = None) -> Any:
        """The fixture's validated value; fails the test when it cannot be loaded."""
        return self._session.resolve(self.handle(name, schema), _MISSING, name)

    def load_or_default(self, name: str, default: Any, schema: Any = None) -> Any:
        """The value, or ``default`` (a value or a zero-argument factory) when missing or invalid."""
        return self._session.resolve(self.handle(name, schema), default, name)


def hotdata_fixture(
    source: HotData[T],
    *,
    default: T | Callable[[], T] = _MISSING,
    scope: str = "function",
    name: str | None = None,
) -> Any:
    """A pytest fixture returning ``source``'s value (or ``default`` when allowed).

    ``default`` may be a value or a zero-argument factory (so a mutable default is
    fresh in every test). Without a default a missing or invalid fixture fails the test.
    """

    def fixture(request: pytest.FixtureRequest) -> Any:
        return request.config.stash[_KEY].resolve(source, default)

    return pytest.fixture(scope=scope, name=name)(fixture)  # type: ignore[call-overload]


def pytest_addoption(parser: pytest.Parser) -> None:
    """https://docs.pytest.org/en/stable/reference/reference.html#pytest.hookspec.pytest_addoption"""
    group = parser.getgroup("hotdata", "hotdata fixtures")
    group.addoption(
        "--hotdata-strict",
        action="store_true",
        dest="hotdata_strict",
        default=False,
        help="fail a test whose hotdata fixture is missing, invalid or stale instead of falling back "
        "(also HOTDATA_STRICT=1)",
    )
    group.addoption(
        "--hotdata-report",
        action="store_true",
        dest="hotdata_report",
        default=False,
        help="at the end, list the hotdata fixtures tests used and which were stale, missing or fell back",
    )
    parser.addini("hotdata_fixtures_dir", "root of fixture names for the hotdata fixture", default="fixtures")


def pytest_configure(config: pytest.Config) -> None:
    """https://docs.pytest.org/en/stable/reference/reference.html#pytest.hookspec.pytest_configure"""
    strict = bool(config.getoption("hotdata_strict")) or os.environ.get("HOTDATA_STRICT", "") in (
        "1",
        "true",
        "yes",
    )
    root = Path(str(config.rootpath)) / str(config.getini("hotdata_fixtures_dir"))
    config.stash[_KEY] = _Session(strict=strict, root=root, registry=registry)


@pytest.fixture
def hotdata(request: pytest.FixtureRequest) -> HotDataAccess:
    """Typed access to hotdata fixtures: ``hotdata.load("agent_snapshots/cockpit_demo")``."""
    return HotDataAccess(request.config.stash[_KEY])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """https://docs.pytest.org/en/stable/reference/reference.html#pytest.hookspec.pytest_terminal_summary"""
    if not config.getoption("hotdata_report"):
        return
    session = config.stash[_KEY]
    tr = terminalreporter
    tr.section("hotdata")
    if not session.uses:
        tr.write_line("no hotdata fixtures were used")
        return
    for use in sorted(session.uses.values(), key=lambda u: u.name):
        suffix = " (fell back to the default)" if use.fell_back else ""
        detail = "" if use.state == "fresh" else f": {use.reason}"
        tr.write_line(f"{use.name}: {use.state}{suffix}{detail}")
    counts = {
        s: sum(u.state == s for u in session.uses.values()) for s in ("stale", "missing", "invalid", "edited")
    }
    fell_back = sum(u.fell_back for u in session.uses.values())
    tr.write_line(
        f"{len(session.uses)} used, {counts['stale']} stale, {counts['missing']} missing, "
        f"{counts['invalid']} invalid, {counts['edited']} edited, {fell_back} fell back"
    )
