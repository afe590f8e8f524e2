"""The demo app: cockpit, gardens, a state machine and a thought stream, all on fixtures.

Demo data is real data: every screen loads its fixture through ``HotData`` with the
catalog's own schemas. When a fixture is missing the screen shows an inline
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
from textual.containers import Horizontal, VerticalScroll
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
from hotdata import FixtureInvalidError, FixtureMissingError, HotData, HotDataRegistry, HotDataWatcher

COCKPIT = "agent_snapshots/cockpit_demo"
GARDEN_MAIN = "garden_states/main_converging"
GARDEN_EXPERIMENT = "garden_states/experiment_diverging"
POLYNOMIAL = "polynomial_states/three_phase_cycle"
THOUGHTS = "thoughts_streams/soul_deliberating"

# Inline fallbacks: what a screen shows before its fixture exists.
FALLBACKS: dict[str, Any] = {
    COCKPIT: AgentSnapshot(
        id="fallback",
        name="Fallback Agent",
        archetype="placeholder",
        phase="idle",
        activity="waiting for `doit fixtures`",
        summary="No fixture yet: run `doit fixtures` to generate the cockpit agent.",
        entropy=0.0,
        connections=[Connection(target="nobody", relation="observer", strength=0.0)],
    ),
    GARDEN_MAIN: GardenSnapshot(
        id="fallback",
        mode="converging",
        coherence=0.5,
        agents=[GardenAgent(name="Alpha", stance="undecided"), GardenAgent(name="Beta", stance="undecided")],
        narrative="No fixture yet: run `doit fixtures`.",
    ),
    GARDEN_EXPERIMENT: GardenSnapshot(
        id="fallback",
        mode="diverging",
        coherence=0.5,
        agents=[GardenAgent(name="Gamma", stance="undecided"), GardenAgent(name="Delta", stance="undecided")],
        narrative="No fixture yet: run `doit fixtures`.",
    ),
    POLYNOMIAL: PolynomialState(
        id="fallback",
        positions=["start", "end"],
        current_state="start",
        transitions=[Transition(source="start", target="end", trigger="go")],
        description="No fixture yet: run `doit fixtures`.",
    ),
    THOUGHTS: ThoughtsStream(
        agent="fallback",
        thoughts=[Thought(at=datetime(2026, 1, 1, tzinfo=UTC), kind="observation", text="No fixture yet.")],
    ),
}

SCHEMAS: dict[str, Any] = {
    COCKPIT: AgentSnapshot,
    GARDEN_MAIN: GardenSnapshot,
    GARDEN_EXPERIMENT: GardenSnapshot,
    POLYNOMIAL: PolynomialState,
    THOUGHTS: ThoughtsStream,
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
    text.append(f"{stream.agent}\n\n", style="bold")
    for thought in stream.thoughts:
        text.append(f"{thought.at:%H:%M:%S} ", style="dim")
        text.append(f"{thought.kind:<12}", style="cyan")
        text.append(f"{thought.text}\n")
    return text


RENDERERS: dict[str, Callable[[Any], Text]] = {
    COCKPIT: render_agent,
    GARDEN_MAIN: render_garden,
    GARDEN_EXPERIMENT: render_garden,
    POLYNOMIAL: render_polynomial,
    THOUGHTS: render_thoughts,
}


def pane_id(name: str) -> str:
    return name.replace("/", "--")


def demo_registry(fixtures: Path) -> HotDataRegistry:
    registry = HotDataRegistry(fixtures)
    for name, schema in SCHEMAS.items():
        registry.register(name, HotData.from_name(fixtures, name, schema))
    return registry


class HotDataDemo(App[None]):
    """The demo app; ``dev=True`` reloads fixtures live."""

    TITLE = "hotdata demo"
    CSS = """
    .fixture { padding: 1 2; }
    #gardens > VerticalScroll { width: 1fr; }
    #notice { height: auto; padding: 0 2; color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [("q", "quit", "Quit")]

    def __init__(self, fixtures: str | Path = "fixtures", *, dev: bool = False) -> None:
        super().__init__()
        self.fixtures = Path(fixtures)
        self.dev = dev
        self.registry = demo_registry(self.fixtures)
        self.sources: dict[str, str] = {}
        self.watcher: HotDataWatcher | None = None
        self._stop: asyncio.Event | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent():
            with TabPane("Cockpit", id="tab-cockpit"), VerticalScroll():
                yield Static(id=pane_id(COCKPIT), classes="fixture")
            with TabPane("Gardens", id="tab-gardens"), Horizontal(id="gardens"):
                with VerticalScroll():
                    yield Static(id=pane_id(GARDEN_MAIN), classes="fixture")
                with VerticalScroll():
                    yield Static(id=pane_id(GARDEN_EXPERIMENT), classes="fixture")
            with TabPane("State machine", id="tab-polynomial"), VerticalScroll():
                yield Static(id=pane_id(POLYNOMIAL), classes="fixture")
            with TabPane("Thoughts", id="tab-thoughts"), VerticalScroll():
                yield Static(id=pane_id(THOUGHTS), classes="fixture")
        yield Static("", id="notice")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.fixtures}{' · dev mode: live reload' if self.dev else ''}"
        for name in SCHEMAS:
            self.show(name, self.load(name))
        if self.dev:
            self.run_worker(self._watch(), name="hotdata-watcher", exclusive=True)

    def load(self, name: str) -> Any:
        """The fixture, or its inline fallback when it is missing or invalid."""
        handle = self.registry.get(name)
        try:
            value = handle.load()
        except FixtureMissingError:
            self.sources[name] = "fallback"
            return FALLBACKS[name]
        except FixtureInvalidError as exc:
            self.sources[name] = "fallback"
            self.notice(f"{name}: invalid, showing the fallback ({exc.errors[0]})")
            return FALLBACKS[name]
        self.sources[name] = "fixture"
        return value

    def show(self, name: str, value: Any) -> None:
        text = RENDERERS[name](value)
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
