"""`doit auto` as a subprocess on a temporary project."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from doit_project import Project

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
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

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
