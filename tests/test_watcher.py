"""HotDataWatcher against real files and real watchfiles events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def running(watcher: HotDataWatcher, mode: str) -> Iterator[None]:
    """The watcher running in its background thread (``start()``), or as ``async for ... in
    watch()`` on an event loop of the test's own: the two loops the watcher has."""
    if mode == "thread":
        with watcher:
            thread = watcher._thread
            yield
        assert thread is not None and not thread.is_alive(), "the watcher's thread did not end on stop()"
        return
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        async for _ in watcher.watch(box["stop"]):
            pass

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        while not watcher.armed:  # the watch reports when it is in place
            assert thread.is_alive(), "watch() ended before it was armed"
            threading.Event().wait(0.01)
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)
    assert not thread.is_alive(), "watch() did not end when its stop event was set"


MODES = pytest.mark.parametrize("mode", ["thread", "async"])


@pytest.fixture
def setup(tmp_path: Path) -> tuple[HotDataRegistry, HotData[Agent], HotDataWatcher, Inbox]:
    reg = HotDataRegistry(tmp_path)
    handle = reg.register("agents/ada", HotData.from_name(tmp_path, "agents/ada", Agent))
    write_fixture(handle, Agent(id="a", name="Ada"))
    watcher = HotDataWatcher(tmp_path, reg)
    inbox = Inbox()
    watcher.on_change("agents/ada", inbox)
    return reg, handle, watcher, inbox


@MODES
def test_callback_gets_each_new_valid_value(setup: Any, mode: str) -> None:
    _, handle, watcher, inbox = setup
    with running(watcher, mode):
        write_fixture(handle, Agent(id="a", name="Ada v2"))
        assert inbox.wait(), "no callback after an atomic replace"
        assert inbox.values[-1] == Agent(id="a", name="Ada v2")
        write_fixture(handle, Agent(id="a", name="Ada v3"))
        assert inbox.wait()
        assert inbox.values[-1].name == "Ada v3"
    assert watcher.last_good["agents/ada"].name == "Ada v3"


@MODES
def test_invalid_write_keeps_last_good_value_and_warns(setup: Any, mode: str) -> None:
    _, handle, watcher, inbox = setup
    with running(watcher, mode), pytest.warns(HotDataWarning, match=r"ada\.json"):
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


@MODES
@pytest.mark.parametrize("how", ["delete and recreate", "rename over"])
def test_a_replaced_fixtures_directory_is_watched_again(
    setup: Any, tmp_path: Path, how: str, mode: str
) -> None:
    _, handle, watcher, inbox = setup
    with running(watcher, mode):
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


class Said(logging.Handler):
    """Sets ``event`` when a record containing ``words`` is logged (from any thread)."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words, self.event = words, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.event.set()


@MODES
def test_stop_while_the_fixtures_directory_is_gone(setup: Any, tmp_path: Path, mode: str) -> None:
    _, _, watcher, _ = setup
    said = Said("is gone; watching for it to come back")
    logger = logging.getLogger("hotdata.watcher")
    logger.addHandler(said)
    try:
        with running(watcher, mode):
            shutil.rmtree(tmp_path)
            assert said.event.wait(10), "the watcher never noticed that its directory was removed"
        # leaving running() stopped the watcher and checked that its loop ended
    finally:
        logger.removeHandler(said)
