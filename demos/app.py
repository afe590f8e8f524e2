"""The demo app: cockpit, gardens, a state machine and a thought stream, all on fixtures.

Demo data is real data: every screen loads the catalog's fixtures by name through
``hotdata.HotDataRegistry`` (each schema found from the fixture's provenance record,
declared once with ``@fixture``). When a family has no fixture yet the screen shows an inline
fallback (the migration pattern: a screen works before its fixture is built). In
dev mode a ``HotDataWatcher`` pushes every regenerated or edited fixture to the
screen with no restart; an invalid file keeps the last good screen and shows a notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, VerticalScroll
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from generators.schemas import (
    AgentSnapshot,
    Connection,
    GardenAgent,
    GardenSnapshot,
    PolynomialState,
    Thought,
    ThoughtsStream,
    Transition,
)
from hotdata import FixtureInvalidError, FixtureMissingError, HotDataError, HotDataRegistry, HotDataWatcher

# The catalog's families, in tab order: every fixture found in a family's directory is shown.
FAMILIES: dict[str, str] = {
    "agent_snapshots": "Cockpit",
    "garden_states": "Gardens",
    "polynomial_states": "State machines",
    "thoughts_streams": "Thoughts",
}

# Inline fallbacks: what a tab shows before any fixture of its family exists.
FALLBACKS: dict[str, Any] = {
    "agent_snapshots": AgentSnapshot(
        id="fallback",
        name="Fallback Agent",
        archetype="placeholder",
        phase="idle",
        activity="waiting for `doit fixtures`",
        summary="No fixture yet: run `doit fixtures` to generate the cockpit agents.",
        entropy=0.0,
        connections=[Connection(target="nobody", relation="observer", strength=0.0)],
    ),
    "garden_states": GardenSnapshot(
        id="fallback",
        mode="converging",
        coherence=0.5,
        agents=[GardenAgent(name="Alpha", stance="undecided"), GardenAgent(name="Beta", stance="undecided")],
        narrative="No fixture yet: run `doit fixtures`.",
    ),
    "polynomial_states": PolynomialState(
        id="fallback",
        positions=["start", "end"],
        current_state="start",
        transitions=[Transition(source="start", target="end", trigger="go")],
        description="No fixture yet: run `doit fixtures`.",
    ),
    "thoughts_streams": ThoughtsStream(
        agent="fallback",
        thoughts=[Thought(at=datetime(2026, 1, 1, tzinfo=UTC), kind="observation", text="No fixture yet.")],
    ),
}


def render_agent(agent: AgentSnapshot) -> Text:
    text = Text()
    text.append(f"{agent.name}", style="bold")
    text.append(f"  [{agent.phase.replace('_', ' ')}]  {agent.archetype}\n\n")
    text.append("now: ", style="dim")
    text.append(f"{agent.activity}\n")
    bar = "█" * round(agent.entropy * 20)
    text.append("entropy: ", style="dim")
    text.append(f"{bar:<20} {agent.entropy:.2f}\n\n", style="red" if agent.entropy > 0.8 else "green")
    text.append(f"{agent.summary}\n\n")
    text.append("connections:\n", style="dim")
    for c in agent.connections:
        text.append(f"  {c.relation:<8} {c.target} ({c.strength:.2f})\n")
    return text


def render_garden(garden: GardenSnapshot) -> Text:
    text = Text()
    text.append(f"{garden.id}", style="bold")
    text.append(f"  {garden.mode}, coherence {garden.coherence:.2f}\n\n")
    text.append(f"{garden.narrative}\n\n")
    for agent in garden.agents:
        text.append(f"• {agent.name}: ", style="bold")
        text.append(f"{agent.stance}\n")
    return text


def render_polynomial(state: PolynomialState) -> Text:
    text = Text()
    text.append(f"{state.id}\n\n", style="bold")
    for position in state.positions:
        style = "reverse bold" if position == state.current_state else ""
        text.append(f" {position} ", style=style)
        text.append(" → ")
    text.append("\n\n")
    for t in state.transitions:
        text.append(f"{t.source} → {t.target}: {t.trigger}\n")
    text.append(f"\n{state.description}\n")
    return text


def render_thoughts(stream: ThoughtsStream) -> Text:
    text = Text()
    text.append(f"{stream.agent}\n", style="bold")
    for thought in stream.thoughts:
        text.append(f"\n{thought.at:%H:%M:%S} ", style="dim")
        text.append(f"{thought.kind}\n", style="cyan")
        text.append(f"{thought.text}\n")
    return text


RENDERERS: dict[str, Callable[[Any], Text]] = {
    "agent_snapshots": render_agent,
    "garden_states": render_garden,
    "polynomial_states": render_polynomial,
    "thoughts_streams": render_thoughts,
}


def pane_id(name: str) -> str:
    return "pane--" + name.replace("/", "--")


def family_of(name: str) -> str:
    return name.split("/", 1)[0]


def fixture_names(fixtures: Path, family: str) -> list[str]:
    """The fixtures of ``family`` that exist on disk (data files, not records or staged files)."""
    folder = fixtures / family
    if not folder.is_dir():
        return []
    return sorted(
        f"{family}/{p.name[: -len('.json')]}"
        for p in folder.glob("*.json")
        if not p.name.endswith(".meta.json") and not p.name.startswith(".")
    )


class HotDataDemo(App[None]):
    """The demo app; ``dev=True`` reloads fixtures live."""

    TITLE = "hotdata demo"
    CSS = """
    .family { grid-size: 2; grid-gutter: 1 2; padding: 1 1; height: auto; }
    .fixture { padding: 0 1; border: round $panel-lighten-2; height: auto; }
    #notice { height: auto; padding: 0 2; color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [("q", "quit", "Quit")]

    def __init__(self, fixtures: str | Path = "fixtures", *, dev: bool = False) -> None:
        super().__init__()
        self.fixtures = Path(fixtures)
        self.dev = dev
        # Declared once: each fixture's schema comes from its provenance record.
        self.registry = HotDataRegistry(self.fixtures)
        self.shown = {family: fixture_names(self.fixtures, family) or [family] for family in FAMILIES}
        self.sources: dict[str, str] = {}
        self.watcher: HotDataWatcher | None = None
        self._stop: asyncio.Event | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent():
            for family, title in FAMILIES.items():
                with TabPane(title, id=f"tab-{family}"), VerticalScroll(), Grid(classes="family"):
                    for name in self.shown[family]:
                        yield Static(id=pane_id(name), classes="fixture")
        yield Static("", id="notice")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.fixtures}{' · dev mode: live reload' if self.dev else ''}"
        for names in self.shown.values():
            for name in names:
                self.show(name, self.load(name))
        if self.dev:
            self.run_worker(self._watch(), name="hotdata-watcher", exclusive=True)

    def load(self, name: str) -> Any:
        """The fixture, or its family's inline fallback when it is missing or invalid."""
        family = family_of(name)
        if name == family:  # nothing of this family is built yet
            self.sources[name] = "fallback"
            return FALLBACKS[family]
        try:
            value = self.registry.load(name)
        except FixtureMissingError:
            self.sources[name] = "fallback"
            return FALLBACKS[family]
        except (FixtureInvalidError, HotDataError) as exc:
            self.sources[name] = "fallback"
            reason = exc.errors[0] if isinstance(exc, FixtureInvalidError) else str(exc)
            self.notice(f"{name}: invalid, showing the fallback ({reason})")
            return FALLBACKS[family]
        self.sources[name] = "fixture"
        return value

    def show(self, name: str, value: Any) -> None:
        text = RENDERERS[family_of(name)](value)
        if self.sources.get(name) == "fallback":
            text.append("\n(fallback data: the fixture is missing or invalid)", style="italic dim")
        widget = self.query_one(f"#{pane_id(name)}", Static)
        widget.update(text)
        widget.border_title = name

    def notice(self, message: str) -> None:
        self.query_one("#notice", Static).update(message)
        self.notify(message, severity="warning")

    async def _watch(self) -> None:
        from hotdata.watcher import HotDataWatcher

        watcher = self.watcher = HotDataWatcher(self.fixtures, self.registry)

        @watcher.on_invalid
        def _(name: str, exc: Exception) -> None:
            self.notice(f"{name}: the new file is invalid; keeping the last good data")

        self._stop = asyncio.Event()
        async for name in watcher.watch(self._stop):
            self.sources[name] = "fixture"
            self.show(name, watcher.last_good[name])
            self.query_one("#notice", Static).update(f"{name} reloaded")

    async def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()
