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
The plugin only loads JSON and never calls a model. In strict mode and for the report
it classifies fixtures with the build's own classifier (the same answer as ``doit
status``) when the project's catalog can be imported, and otherwise says which
checks it skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ._env import env_switch
from ._errors import FixtureInvalidError, FixtureMissingError, HotDataError, SwitchError
from ._freshness import FixtureState, FixtureStatus
from ._hotdata import HotData
from ._names import DATA_SUFFIX
from ._registry import HotDataRegistry, find_fixtures_root, registry

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
    skipped: tuple[str, ...] = ()


class _Planner:
    """The project's build classifier, when its catalog can be imported; else why not."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self._planner: Any = None
        self.why_not: str | None = None
        self._loaded = False

    def status(self, name: str) -> FixtureStatus | None:
        if not self._loaded:
            self._loaded = True
            self._planner, self.why_not = _open_planner(self.project_root)
        if self._planner is None or name not in self._planner.catalog:
            return None
        status: FixtureStatus = self._planner.status(self._planner.catalog.get(name))
        return status


def _open_planner(project_root: Path) -> tuple[Any, str | None]:
    """The build's planner (the catalog and its classifier): all the plugin asks of the build side."""
    pyproject = project_root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None, f"no pyproject.toml in {project_root}"
    if "[tool.hotdata" not in text:
        return None, f"{pyproject} has no [tool.hotdata] table"
    try:
        from .make import load_config
        from .make.plan import InputResolver, Planner
    except ImportError as exc:
        return None, f"hotdata's build side cannot be imported ({exc}); install hotdata[build]"
    try:
        planner = Planner(InputResolver(load_config(project_root)))
        planner.catalog  # noqa: B018 - imports the generator modules
    except HotDataError as exc:
        return None, f"the project's catalog cannot be loaded: {exc}"
    return planner, None


@dataclass
class _Session:
    strict: bool
    root: Path
    registry: HotDataRegistry
    planner: _Planner | None  # the build's classifier, asked only in strict mode or for a report
    found: HotDataRegistry = field(init=False)
    uses: dict[str, _Use] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.found = HotDataRegistry(self.root)  # fixtures declared once, found by their records

    def handle(self, name: str, schema: Any = None) -> HotData[Any]:
        if name in self.registry:
            return self.registry.get(name)
        if schema is not None:
            return HotData.from_name(self.root, name, schema)
        return self.found.get(name)

    def status(self, handle: HotData[Any], name: str) -> FixtureStatus:
        """The build's verdict when the catalog declares ``name``, else the runtime's (saying what it skipped)."""
        full = None if self.planner is None else self.planner.status(name)
        if full is not None:
            return full
        return handle.status()  # the runtime verdict, naming the build checks it skipped

    def name_of(self, handle: HotData[Any]) -> str:
        """The fixture's name under the fixtures root, found from its path: a fixture is the same
        fixture whether a test names it or gives its path (``HotData("fixtures/a/b.json", ...)``)."""
        try:
            relative = handle.path.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return handle.name  # outside the fixtures root: no fixture of the catalog
        return relative[: -len(DATA_SUFFIX)] if relative.endswith(DATA_SUFFIX) else handle.name

    def resolve(self, handle: HotData[Any], default: Any, name: str | None = None) -> Any:
        """The fixture's value, or the default, or a failure: by state and strictness."""
        label = name or self.name_of(handle)
        status = self.status(handle, label)
        use = _Use(label, str(handle.path), status.state.value, status.reason, skipped=status.skipped)
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
        """The handle for ``name``: registered, or for ``schema`` under the fixtures root, or
        found from the fixture's provenance record (a fixture declared once with ``@fixture``)."""
        return self._session.handle(name, schema)

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
    parser.addini(
        "hotdata_fixtures_dir",
        "root of fixture names for the hotdata fixture (default: fixtures_dir of [tool.hotdata])",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """https://docs.pytest.org/en/stable/reference/reference.html#pytest.hookspec.pytest_configure"""
    try:
        from_env = env_switch("HOTDATA_STRICT")
    except SwitchError as exc:
        raise pytest.UsageError(str(exc)) from None
    strict = bool(config.getoption("hotdata_strict")) or bool(from_env)
    project = Path(str(config.rootpath))
    configured = str(config.getini("hotdata_fixtures_dir"))
    root = project / configured if configured else find_fixtures_root(project)
    planner = _Planner(project) if strict or config.getoption("hotdata_report") else None
    config.stash[_KEY] = _Session(strict=strict, root=root, registry=registry, planner=planner)


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
    skipped = sorted({c for u in session.uses.values() for c in u.skipped})
    if skipped:
        why = (session.planner and session.planner.why_not) or "not declared in the project's catalog"
        tr.write_line(f"build checks skipped ({', '.join(skipped)}): {why}")
    tr.write_line(
        f"{len(session.uses)} used, {counts['stale']} stale, {counts['missing']} missing, "
        f"{counts['invalid']} invalid, {counts['edited']} edited, {fell_back} fell back"
    )
