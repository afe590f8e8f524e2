"""`doit auto` as a subprocess on a temporary project."""

from __future__ import annotations

import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.make.commands import changed

pytestmark = pytest.mark.slow


class Running:
    """A running `doit auto` whose stdout lines are read in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self.lines.put(line.rstrip("\n"))
        except ValueError:  # the test's communicate() closed the stream first: the rest is not needed
            return

    def wait_for(self, text: str, timeout: float = 60.0) -> list[str]:
        """Lines up to and including the first one containing ``text``."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            got.append(line)
            self.seen.append(line)
            if text in line:
                return got
        raise AssertionError(f"{text!r} not seen within {timeout}s; saw:\n" + "\n".join(self.seen))


def test_doit_auto_rebuilds_what_changed_and_survives_errors(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    assert len(project.calls()) == 3
    auto = Running(project.popen("auto"))
    try:
        auto.wait_for("doit auto: watching")
        assert project.calls() == []

        project.edit("templates/partials/voice.j2", "vividly", "boldly")
        auto.wait_for("hotdata: 2 generated")
        assert project.calls() == ["agents/crisis", "agents/deliberating"]

        project.path("templates/note.j2").write_text("Hello\n{% if %}\n")
        auto.wait_for("note.j2, line 2")
        auto.wait_for("still watching")

        project.path("templates/note.j2").write_text("[fixture {{ fixture_name }}]\nHello, new teammate.\n")
        auto.wait_for("hotdata: 1 generated")
        assert project.calls() == ["notes/welcome"]

        project.path("gens/agents.py").write_text(
            project.path("gens/agents.py").read_text() + "\nthis is not python\n"
        )
        line = auto.wait_for("failed to import")[-1]
        assert "agents.py, line" in line
        auto.wait_for("still watching")
        project.edit("gens/agents.py", "\nthis is not python\n", "\n")
        auto.wait_for("hotdata: 0 generated, 3 up to date")
        assert project.calls() == []
    finally:
        auto.proc.send_signal(signal.SIGINT)
        _, err = auto.proc.communicate(timeout=30)
    assert auto.proc.returncode == 0
    assert "Traceback" not in err
    leftovers = [p.name for p in project.path("fixtures").rglob("*") if p.name.endswith((".tmp", ".pending"))]
    assert leftovers == []


def test_doit_auto_sigterm_during_a_build_exits_cleanly(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    auto = Running(project.popen("auto", env={"HOTDATA_FAKE_LATENCY": "3"}))
    project.wait_for_call()  # inside the first, slow build
    auto.proc.send_signal(signal.SIGTERM)
    _, err = auto.proc.communicate(timeout=30)
    assert auto.proc.returncode == 0
    assert "Traceback" not in err
    fixtures = project.path("fixtures")
    # the stopped build's temp files are removed (no other build holds the lock)
    assert [p.name for p in fixtures.rglob("*") if p.name.endswith(".tmp")] == []
    for data in fixtures.rglob("*.json"):
        json.loads(data.read_text())  # complete: old or new, never half-written


def _warm(project: Project, args: list[str] | None) -> subprocess.CompletedProcess[str]:
    """`python -m hotdata.make.commands._warm` handed ``args`` (None: end of input, nothing to run)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotdata.make.commands._warm"],
        cwd=project.root,
        env=project._env(None),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate("" if args is None else json.dumps(args) + "\n", timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_warm_process_builds_what_it_is_handed_with_the_project_code_of_that_moment(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    done = _warm(project, ["fixtures"])
    assert done.returncode == 0, done.stderr
    assert "hotdata: 3 generated" in done.stdout
    assert len(project.calls()) == 3
    # a generator edited while a warm process waits: its module is imported after the hand-over
    project.path("gens/agents.py").write_text(
        project.path("gens/agents.py").read_text() + "\nthis is not python\n"
    )
    broken = _warm(project, ["fixtures"])
    assert broken.returncode != 0
    assert "agents.py, line" in broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr


def test_warm_process_not_needed_runs_nothing(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    done = _warm(project, None)
    assert (done.returncode, done.stdout) == (0, "")
    assert project.calls() == []
    assert not project.path("fixtures/notes").exists()


def test_warm_process_sees_a_loaded_module_edited_after_it_was_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "warm_probe_lib.py"
    module.write_text("VALUE = 1\n")
    old = time.time_ns() - 3_000_000_000
    os.utime(module, ns=(old, old))  # loaded well before the process started
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("warm_probe_lib")
    try:
        started = time.time_ns()
        snapshot = {str(module): os.stat(module).st_mtime_ns}
        assert changed(snapshot, started) is None
        module.write_text("VALUE = 2\n")  # an edit: a new mtime
        assert changed(snapshot, started) == str(module)
        os.utime(module, ns=(old, old))
        assert changed(snapshot, started) is None
        module.unlink()
        assert changed(snapshot, started) == str(module)  # removed: the loaded code is gone too
    finally:
        sys.modules.pop("warm_probe_lib", None)


def test_warm_process_distrusts_a_module_written_just_before_it_started(tmp_path: Path) -> None:
    module = tmp_path / "fresh.py"
    module.write_text("VALUE = 1\n")
    started = time.time_ns()  # the mtime may trail this clock: too close to tell which came first
    assert changed({str(module): os.stat(module).st_mtime_ns}, started) == str(module)


def test_doit_auto_builds_in_a_fresh_process_when_a_loaded_library_changed(tmp_path: Path) -> None:
    """The waiting process loaded a library (here through sitecustomize, as an editable
    install of the user's own package would be) that is then edited: the build runs in a
    fresh process instead, and runs once."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import probe_lib\n")
    library = site / "probe_lib.py"
    library.write_text("VALUE = 1\n")
    old = time.time_ns() - 10_000_000_000
    os.utime(library, ns=(old, old))
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    project.calls()
    auto = Running(project.popen("auto", env={"PYTHONPATH": str(site)}))
    try:
        auto.wait_for("doit auto: watching")
        library.write_text("VALUE = 2\n")
        project.path("templates/note.j2").write_text("[fixture {{ fixture_name }}]\nHi, new teammate.\n")
        auto.wait_for(f"{library} changed after the build process loaded it; starting a fresh one")
        auto.wait_for("hotdata: 1 generated")
        auto.wait_for("doit auto: build done")
        assert project.calls() == ["notes/welcome"]
    finally:
        auto.proc.send_signal(signal.SIGINT)
        _, err = auto.proc.communicate(timeout=30)
    assert auto.proc.returncode == 0
    assert "Traceback" not in err
