"""Review before accept, through real doit subprocesses on a temp project."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Agent, write_fixture
from doit_project import Project

from hotdata import FixtureState, HotData, HotDataRegistry, HotDataWatcher
from hotdata.make.commands import diff_values, render_changes

ALL = ["agents/crisis", "agents/deliberating", "notes/welcome"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def files(project: Project, name: str) -> tuple[bytes, bytes]:
    return (
        project.path(f"fixtures/{name}.json").read_bytes(),
        project.path(f"fixtures/{name}.meta.json").read_bytes(),
    )


def staged(project: Project) -> list[str]:
    root = project.path("fixtures")
    return sorted(str(p.relative_to(root))[: -len(".meta.json.new")] for p in root.rglob("*.meta.json.new"))


def stage_template_change(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    proc = project.doit("fixtures", "review=1", check=True)
    assert "2 fixture(s) pending review: doit review" in proc.stdout
    assert "staged for review" in proc.stdout


@pytest.mark.slow
def test_stage_review_accept_reject(project: Project) -> None:
    before = {name: files(project, name) for name in ALL}
    stage_template_change(project)
    assert project.calls() == ["agents/crisis", "agents/deliberating"]
    assert staged(project) == ["agents/crisis", "agents/deliberating"]
    assert {name: files(project, name) for name in ALL} == before  # the committed pairs are untouched

    rows = project.status()
    assert rows["agents/crisis"]["state"] == "pending"
    assert "template partials/voice.j2 changed" in rows["agents/crisis"]["reason"]
    assert project.doit("validate").returncode != 0  # CI never passes with unreviewed output

    out = project.doit("review", check=True).stdout  # not a terminal: prints, changes nothing
    assert "agents/crisis  (template partials/voice.j2 changed; " in out
    assert "~ /summary:" in out
    assert "nothing changed (not a terminal)" in out
    assert staged(project) == ["agents/crisis", "agents/deliberating"]
    listing = json.loads(project.doit("review", "--json", check=True).stdout)
    assert [row["name"] for row in listing] == ["agents/crisis", "agents/deliberating"]
    assert listing[0]["reason"] == "template partials/voice.j2 changed"
    kinds = {change["pointer"]: change["kind"] for change in listing[0]["changes"]}
    assert kinds["/summary"] == "changed"

    project.doit("accept", "agents/crisis", check=True)
    project.doit("reject", "agents/deliberating", check=True)
    assert staged(project) == []
    assert files(project, "agents/deliberating") == before["agents/deliberating"]
    assert files(project, "agents/crisis") != before["agents/crisis"]
    rows = project.status()
    assert rows["agents/crisis"]["state"] == "fresh"
    assert rows["agents/deliberating"]["state"] == "stale"  # rejected: still stale, as before
    catalog = project.path("fixtures/README.md").read_text()  # says so too, with no `doit catalog`
    assert "| `agents/crisis` |" in catalog and "pending" not in catalog, catalog
    assert [line.rsplit("|", 2)[-2].strip() for line in catalog.splitlines() if "`agents/" in line] == [
        "fresh",
        "stale",
    ]
    record = json.loads(project.path("fixtures/agents/crisis.meta.json").read_text())
    assert record["reason"] == "template partials/voice.j2 changed"


@pytest.mark.slow
def test_accept_all_and_a_new_fixture_is_pending_too(project: Project) -> None:
    project.path("fixtures/notes/welcome.json").unlink()
    project.path("fixtures/notes/welcome.meta.json").unlink()
    proc = project.doit("fixtures", env={"HOTDATA_REVIEW": "1"}, check=True)
    assert "1 fixture(s) pending review" in proc.stdout
    assert not project.path("fixtures/notes/welcome.json").exists()
    listing = json.loads(project.doit("review", "--json", check=True).stdout)
    assert listing[0]["reason"] == "new fixture"
    assert listing[0]["changes"][0]["pointer"] == "" and listing[0]["changes"][0]["kind"] == "added"
    assert project.doit("accept", check=False).returncode != 0  # names or --all
    project.doit("accept", "--all", check=True)
    assert project.status()["notes/welcome"]["state"] == "fresh"
    assert "nothing is pending review" in project.doit("review", check=True).stdout


@pytest.mark.slow
def test_a_pending_fixture_is_not_rebuilt_until_its_inputs_change_again(project: Project) -> None:
    stage_template_change(project)
    project.calls()
    proc = project.doit("fixtures", "review=1", check=True)
    assert project.calls() == []
    assert "2 fixture(s) pending review" in proc.stdout
    project.edit("templates/partials/voice.j2", "boldly", "boldly and briefly")
    rows = project.status()
    assert "replaces the change awaiting review" in rows["agents/crisis"]["reason"]
    proc = project.doit("fixtures", "review=1", check=True)
    assert project.calls() == ["agents/crisis", "agents/deliberating"]
    assert "2 change(s) awaiting review were replaced by newer ones" in proc.stdout


@pytest.mark.slow
def test_strict_pytest_fails_while_a_fixture_is_pending(project: Project) -> None:
    stage_template_change(project)
    project.path("test_uses.py").write_text("def test_it(hotdata):\n    hotdata.load('agents/crisis')\n")
    strict = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hotdata-strict", "test_uses.py"],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert strict.returncode == 1, strict.stdout
    assert "agents/crisis is pending: awaiting review" in strict.stdout


def test_the_runtime_sees_pending_and_loads_only_accepted_data(tmp_path: Path) -> None:
    handle = HotData.from_name(tmp_path, "agents/ada", Agent)
    write_fixture(handle, Agent(id="a", name="Accepted"))
    other = HotData.from_name(tmp_path / "other", "agents/ada", Agent)
    write_fixture(other, Agent(id="a", name="Staged"))
    for suffix in (".json", ".meta.json"):  # stage it as the commit stage does: data, then record
        source = other.path if suffix == ".json" else other.meta_path
        target = handle.path if suffix == ".json" else handle.meta_path
        target.with_name(target.name + ".new").write_bytes(source.read_bytes())
    status = handle.status()
    assert status.state is FixtureState.PENDING
    assert handle.load().name == "Accepted"


def test_the_watcher_never_delivers_a_staged_file(tmp_path: Path) -> None:
    reg = HotDataRegistry(tmp_path)
    handle = reg.register("agents/ada", HotData.from_name(tmp_path, "agents/ada", Agent))
    write_fixture(handle, Agent(id="a", name="One"))
    seen: list[str] = []
    watcher = HotDataWatcher(tmp_path, reg)
    import threading

    arrived = threading.Event()

    def got(value: Agent) -> None:
        seen.append(value.name)
        arrived.set()

    watcher.on_change("agents/ada", got)
    with watcher:
        handle.path.with_name("ada.json.new").write_text('{"id": "a", "name": "Staged"}')
        write_fixture(handle, Agent(id="a", name="Two"))
        assert arrived.wait(10)
    assert seen == ["Two"]


def test_a_5000_item_array_change_stays_a_short_diff() -> None:
    old = {"rows": list(range(5000)), "title": "t"}
    new = {"rows": [*range(4000), *(i + 1 for i in range(4000, 5000)), 1, 2], "title": "t2"}
    started = time.perf_counter()
    lines = render_changes(diff_values(old, new))
    assert time.perf_counter() - started < 5  # generous: it is linear, the point is "not minutes"
    assert lines == ["~ /rows: 5000 -> 5002 items: 1000 item(s) changed, 2 added", '~ /title: "t" -> "t2"']
    many = render_changes(diff_values({str(i): i for i in range(100)}, {str(i): -i for i in range(100)}))
    assert len(many) == 41 and many[-1] == "… 59 more change(s) left out"


def test_long_strings_show_as_word_diffs() -> None:
    old = "Kestrel checks the docking clamps twice, then radios Vesper about the failing coolant pump in bay three."
    new = "Kestrel checks the docking clamps once, then radios Vesper about the failing coolant pump in bay four."
    (line,) = render_changes(diff_values({"s": old}, {"s": new}))
    assert "[-twice,-] {+once,+}" in line and "[-three.-] {+four.+}" in line


def consistent(project: Project, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        raw = project.path(f"fixtures/{name}.json").read_bytes()
        json.loads(raw)
        sha = hashlib.sha256(raw).hexdigest()
        meta = project.path(f"fixtures/{name}.meta.json")
        pending = meta.with_name(meta.name + ".pending")
        shas = [json.loads(p.read_bytes())["data_sha256"] for p in (meta, pending) if p.exists()]
        if sha not in shas:
            problems.append(f"{name}: no record matches the data")
    return problems


MANY = """
from hotdata.make import fixture
from .schemas import Note


@fixture("many/item_{{i:02d}}", schema=Note, template="note.j2", variants=[{{"i": i}} for i in range({n})])
async def many(ctx, i):
    return await ctx.generate(ctx.render() + f" (number {{i}})")
"""


@pytest.mark.slow
def test_kill_9_during_accept_leaves_a_consistent_pair(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/many.py").write_text(MANY.format(n=40))
    project.doit("fixtures", check=True)
    names = [f"many/item_{i:02d}" for i in range(40)]
    for attempt in range(5):
        project.doit("fixtures", "force=1", "review=1", check=True)
        before = {n: project.path(f"fixtures/{n}.json").read_bytes() for n in names}
        proc = project.popen("accept", "--all")
        # the observed event: the first data file replaced by its staged version
        while proc.poll() is None and all(
            project.path(f"fixtures/{n}.json").read_bytes() == before[n] for n in names
        ):
            pass
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert consistent(project, names) == [], f"attempt {attempt}"
        project.doit("accept", "--all", check=True)  # finishes what the killed one left
        assert consistent(project, names) == []
        assert staged(project) == []
        left = [
            p.name
            for p in project.path("fixtures").rglob("*")
            if p.name.endswith((".new", ".pending", ".tmp"))
        ]
        assert left == [], f"attempt {attempt}"
        assert {r["state"] for r in project.status().values()} == {"fresh"}


@pytest.mark.slow
def test_interactive_review_keys_through_a_real_terminal(project: Project) -> None:
    project.path("fixtures/notes/welcome.json").unlink()
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    project.doit("fixtures", "review=1", check=True)
    assert staged(project) == ALL
    code, output = project.on_terminal("review", keys=[b"a", b"r", b"s"])
    assert code == 0, output
    assert "1 accepted, 1 rejected, 1 skipped" in output
    assert staged(project) == ["notes/welcome"]  # the skipped one is still pending
    rows: dict[str, Any] = project.status()
    assert rows["agents/crisis"]["state"] == "fresh"
    assert rows["agents/deliberating"]["state"] == "stale"
    assert rows["notes/welcome"]["state"] == "pending"
    catalog = project.path("fixtures/README.md").read_text()  # the decided two, with no `doit catalog`
    states = {
        line.split("`")[1]: line.rsplit("|", 2)[-2].strip() for line in catalog.splitlines() if "| `" in line
    }
    assert {n: states[n] for n in ALL} == {
        "agents/crisis": "fresh",
        "agents/deliberating": "stale",
        "notes/welcome": "pending",
    }, catalog
