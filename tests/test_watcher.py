"""HotDataWatcher against real files and real watchfiles events."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import Agent, write_fixture

from hotdata import HotData, HotDataRegistry, HotDataWarning, HotDataWatcher


class Inbox:
    def __init__(self) -> None:
        self.values: list[Any] = []
        self.event = threading.Event()

    def __call__(self, value: Any) -> None:
        self.values.append(value)
        self.event.set()

    def wait(self, timeout: float = 10.0) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok

    def wait_for_name(self, name: str) -> None:
        """Until a value named ``name`` arrives; each callback is an observed event."""
        while not (self.values and self.values[-1].name == name):
            assert self.wait(), f"no value named {name!r} arrived; got {[v.name for v in self.values]}"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[HotDataRegistry, HotData[Agent], HotDataWatcher, Inbox]:
    reg = HotDataRegistry(tmp_path)
    handle = reg.register("agents/ada", HotData.from_name(tmp_path, "agents/ada", Agent))
    write_fixture(handle, Agent(id="a", name="Ada"))
    watcher = HotDataWatcher(tmp_path, reg)
    inbox = Inbox()
    watcher.on_change("agents/ada", inbox)
    return reg, handle, watcher, inbox


def test_callback_gets_each_new_valid_value(setup: Any) -> None:
    _, handle, watcher, inbox = setup
    with watcher:
        write_fixture(handle, Agent(id="a", name="Ada v2"))
        assert inbox.wait(), "no callback after an atomic replace"
        assert inbox.values[-1] == Agent(id="a", name="Ada v2")
        write_fixture(handle, Agent(id="a", name="Ada v3"))
        assert inbox.wait()
        assert inbox.values[-1].name == "Ada v3"
    assert watcher.last_good["agents/ada"].name == "Ada v3"


def test_invalid_write_keeps_last_good_value_and_warns(setup: Any) -> None:
    _, handle, watcher, inbox = setup
    with watcher, pytest.warns(HotDataWarning, match=r"ada\.json"):
        write_fixture(handle, Agent(id="a", name="Good"))
        assert inbox.wait()
        invalid = threading.Event()
        watcher.on_invalid(lambda name, exc: invalid.set())
        handle.path.write_text('{"id": "a", "na')  # half-written
        assert invalid.wait(10), "the invalid write was never reported"
        assert [v.name for v in inbox.values] == ["Good"]
        write_fixture(handle, Agent(id="a", name="Good again"))
        assert inbox.wait()
    assert [v.name for v in inbox.values] == ["Good", "Good again"]


def test_provenance_and_temp_files_are_ignored(setup: Any, tmp_path: Path) -> None:
    _, handle, watcher, inbox = setup
    with watcher:
        handle.meta_path.write_text(handle.meta_path.read_text())
        (tmp_path / "agents" / ".ada.json.123.tmp").write_text("{}")
        (tmp_path / "agents" / "ada.json.new").write_text("{}")
        (tmp_path / "agents" / "unregistered.json").write_text("{}")
        write_fixture(handle, Agent(id="a", name="real"))
        assert inbox.wait()
    # the ignored files produced no callback before (or with) the real change
    assert [v.name for v in inbox.values] == ["real"]


def test_rapid_writes_coalesce(setup: Any) -> None:
    _, handle, watcher, inbox = setup
    watcher.debounce, watcher.step = 400, 200
    with watcher:
        for i in range(8):
            write_fixture(handle, Agent(id="a", name=f"burst {i}"))
        inbox.wait_for_name("burst 7")
    assert inbox.values[-1].name == "burst 7"
    assert len(inbox.values) < 8


def test_stop_ends_the_thread(setup: Any) -> None:
    _, _, watcher, _ = setup
    watcher.start()
    thread = watcher._thread
    assert thread is not None and thread.is_alive()
    watcher.stop()
    assert not thread.is_alive()
    watcher.stop()  # idempotent


def test_async_watch_yields_names(setup: Any) -> None:
    _, handle, watcher, inbox = setup

    async def main() -> list[str]:
        stop = asyncio.Event()
        names: list[str] = []

        async def writer() -> None:
            while not watcher.armed:  # the watch reports when it is in place
                await asyncio.sleep(0.01)
            write_fixture(handle, Agent(id="a", name="async"))

        task = asyncio.create_task(writer())
        async for name in watcher.watch(stop):
            names.append(name)
            stop.set()
        await task
        return names

    assert asyncio.run(asyncio.wait_for(main(), 15)) == ["agents/ada"]
    assert inbox.values[-1].name == "async"


@pytest.mark.parametrize("how", ["delete and recreate", "rename over"])
def test_a_replaced_fixtures_directory_is_watched_again(setup: Any, tmp_path: Path, how: str) -> None:
    import shutil

    _, handle, watcher, inbox = setup
    with watcher:
        if how == "delete and recreate":
            shutil.rmtree(tmp_path / "agents")
            write_fixture(handle, Agent(id="a", name="recreated"))
        else:
            fresh = tmp_path.parent / (tmp_path.name + "-new")
            fresh_handle = HotData.from_name(fresh, "agents/ada", Agent)
            write_fixture(fresh_handle, Agent(id="a", name="renamed in"))
            shutil.rmtree(tmp_path)
            fresh.rename(tmp_path)
        assert inbox.wait(), f"no callback after the directory was replaced ({how})"
        assert inbox.values[-1].name in ("recreated", "renamed in")
        write_fixture(handle, Agent(id="a", name="after"))
        inbox.wait_for_name("after")
