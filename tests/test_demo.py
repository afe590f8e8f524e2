"""The Textual demo app, driven with Textual's pilot on real fixture files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import write_fixture
from textual.widgets import Static

from demos.app import FALLBACKS, HotDataDemo, pane_id
from generators.schemas import AgentSnapshot
from hotdata import HotData

COCKPIT = "agent_snapshots/cockpit_demo"


def agent(name: str) -> AgentSnapshot:
    return FALLBACKS["agent_snapshots"].model_copy(
        update={"name": name, "summary": f"{name} is deciding.", "id": "a"}
    )


def text_of(app: HotDataDemo, name: str) -> str:
    return str(app.query_one(f"#{pane_id(name)}", Static).content)


async def until(pilot: object, check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return check()


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    write_fixture(HotData.from_name(tmp_path, COCKPIT, AgentSnapshot), agent("Kestrel"))
    return tmp_path


def test_screen_shows_the_fixture_and_fallbacks(fixtures: Path) -> None:
    async def main() -> None:
        app = HotDataDemo(fixtures)
        async with app.run_test(size=(120, 40)):
            assert "Kestrel" in text_of(app, COCKPIT)
            assert "fallback data" not in text_of(app, COCKPIT)
            # no garden fixture was ever built: the family's inline fallback shows
            assert "Alpha" in text_of(app, "garden_states")
            assert "fallback data" in text_of(app, "garden_states")

    asyncio.run(main())


def test_dev_mode_shows_a_replaced_fixture_and_survives_an_invalid_one(fixtures: Path) -> None:
    handle = HotData.from_name(fixtures, COCKPIT, AgentSnapshot)

    async def main() -> None:
        app = HotDataDemo(fixtures, dev=True)
        async with app.run_test(size=(120, 40)) as pilot:
            assert await until(pilot, lambda: app.watcher is not None and app.watcher.armed)
            write_fixture(handle, agent("Vesper"))
            assert await until(pilot, lambda: "Vesper" in text_of(app, COCKPIT)), text_of(app, COCKPIT)
            handle.path.write_text('{"name": "Broken"')
            notice = app.query_one("#notice", Static)
            assert await until(pilot, lambda: "invalid" in str(notice.content)), str(notice.content)
            assert "Vesper" in text_of(app, COCKPIT)
            write_fixture(handle, agent("Oriel"))
            assert await until(pilot, lambda: "Oriel" in text_of(app, COCKPIT))

    with pytest.warns(Warning):  # HotDataWarning for the invalid write
        asyncio.run(main())


def test_invalid_fixture_at_start_shows_fallback_and_notice(fixtures: Path) -> None:
    (fixtures / "agent_snapshots" / "cockpit_demo.json").write_text("[]")

    async def main() -> None:
        app = HotDataDemo(fixtures)
        async with app.run_test(size=(120, 40)):
            assert "Fallback Agent" in text_of(app, COCKPIT)
            assert "invalid" in str(app.query_one("#notice", Static).content)

    asyncio.run(main())
