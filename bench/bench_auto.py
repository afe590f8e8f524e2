"""Watch-mode latency: `doit auto` running, a template edit -> the rebuilt fixture on disk.

Run: python -m bench.bench_auto [ROUNDS]   (default 20)
A temporary project of five fixtures, each with its own template, built by the fake
model (``hotdata-fake``). With ``doit auto`` running, each round edits the template
of one fixture and times the edit -> that fixture's data file changing on disk (its
(mtime_ns, inode, size), polled every millisecond); the next round starts PAUSE
seconds after auto reports the rebuild ended (a person reading the result before the
next save; auto prepares its next build process meanwhile). p50 and p95 over the
rounds; target p50 <= 1.0 s.

The floor is what auto adds to: the same edit followed by ``doit
fixtures:notes/n0`` run directly as a fresh process, timed the same way (median; half
the rounds before auto starts, half after it stops).

Every edit must cost exactly one model call (the fake's log counts them): a round
that rebuilt more than the edited fixture is a wrong figure, and fails the row.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure, median, percentile

FIXTURES = 5
EDITED = "notes/n0"
PAUSE = 2.0  # seconds between a rebuild and the next edit: a person reading the result, then saving again
COMMAND = "python -m bench.bench_auto"

PYPROJECT = """
[tool.hotdata]
generators = ["gens"]
templates_dir = "templates"
model = "hotdata-fake"
llm_plugins = ["hotdata.testing.fake_models"]
"""

HEADER = """
from pydantic import BaseModel
from hotdata.make import fixture


class Note(BaseModel):
    title: str
    body: str
"""

GENERATOR = """

@fixture("notes/n{i}", schema=Note, template="note_{i}.j2")
async def note_{i}(ctx):
    return await ctx.generate(ctx.render())
"""


def make_project(root: Path) -> None:
    (root / "gens").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "gens" / "__init__.py").write_text(
        HEADER + "".join(GENERATOR.format(i=i) for i in range(FIXTURES))
    )
    for i in range(FIXTURES):
        (root / "templates" / f"note_{i}.j2").write_text(f"[fixture notes/n{i}] A short note, number {i}.\n")
    (root / "dodo.py").write_text("from hotdata.make import doit_project\nglobals().update(doit_project())\n")


class Bench:
    """The project, the fake's call log, and the two ways of rebuilding after an edit."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "project"
        self.log = tmp / "calls.jsonl"  # outside the project: auto does not watch it
        make_project(self.root)
        self.env = clean_env(HOTDATA_FAKE_LOG=str(self.log))
        self.template = self.root / "templates" / "note_0.j2"
        self.data = self.root / "fixtures" / f"{EDITED}.json"
        self.edits = 0
        self.calls_per_edit: list[int] = []
        self.doit("fixtures")  # everything fresh before the first edit

    def doit(self, *args: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "doit", *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doit {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return time.perf_counter() - start

    def calls(self) -> int:
        """Model calls since the last look."""
        if not self.log.exists():
            return 0
        n = len(self.log.read_text().splitlines())
        self.log.unlink()
        return n

    def edit(self) -> tuple[float, tuple[int, int, int]]:
        """Change the prompt of notes/n0 (a new line each time, so the answer changes too);
        the moment of the edit and the data file's key before it."""
        self.edits += 1
        before = data_key(self.data)
        start = time.perf_counter()
        self.template.write_text(f"[fixture {EDITED}] A short note, number 0. Draft {self.edits}.\n")
        return start, before

    def direct_latency(self) -> float:
        """The floor: the edit, then `doit fixtures:notes/n0` as a fresh process."""
        self.calls()
        start, before = self.edit()
        proc = subprocess.Popen(
            [sys.executable, "-m", "doit", f"fixtures:{EDITED}"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        changed = wait_changed(self.data, before, timeout=60)
        if proc.wait(60) != 0:
            raise RuntimeError(f"doit fixtures:{EDITED} failed after edit {self.edits}")
        if changed is None:
            raise RuntimeError(f"doit fixtures:{EDITED} exited without rewriting {self.data}")
        self.calls_per_edit.append(self.calls())
        return changed - start

    def auto_latencies(self, rounds: int) -> tuple[list[float], int]:
        """Latencies of the rounds whose rebuild arrived, and the count of those that did not."""
        auto = AutoProcess(self.root, self.env)
        latencies, lost = [], 0
        try:
            auto.wait_watching(timeout=60)
            self.calls()
            for _ in range(rounds):
                start, before = self.edit()
                changed = wait_changed(self.data, before, timeout=30)
                auto.wait_idle(timeout=60)
                if changed is None:
                    lost += 1
                else:
                    latencies.append(changed - start)
                self.calls_per_edit.append(self.calls())
                time.sleep(PAUSE)
        finally:
            auto.stop()
        return latencies, lost


class AutoProcess:
    """``python -m doit auto`` in a subprocess, its output collected by a thread."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "doit", "auto"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.watching = threading.Event()
        self.finished = threading.Semaphore(0)  # one release per build auto reports as ended
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("doit auto: watching"):
                self.watching.set()
            elif line.startswith(("doit auto: build done", "doit auto: build failed")):
                self.finished.release()

    def wait_watching(self, timeout: float) -> None:
        if not self.watching.wait(timeout):
            raise RuntimeError("doit auto never said it was watching:\n" + "\n".join(self.lines))
        self.finished.acquire(timeout=0)  # the first build's, which ended before watching began

    def wait_idle(self, timeout: float) -> None:
        """Until auto says the rebuild it started has ended."""
        if not self.finished.acquire(timeout=timeout):
            raise RuntimeError("doit auto's rebuild did not finish:\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; auto exits 0 and says so."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("doit auto ignored SIGINT for 15 s") from None
        self.reader.join(5)
        if code != 0 or "doit auto: stopped" not in self.lines:
            raise RuntimeError(f"doit auto exited {code} on SIGINT:\n" + "\n".join(self.lines[-20:]))


def data_key(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ino, st.st_size


def wait_changed(path: Path, before: tuple[int, int, int], timeout: float) -> float | None:
    """The perf_counter time at which ``path``'s key first differs from ``before``, or None."""
    deadline = time.perf_counter() + timeout
    while (now := time.perf_counter()) < deadline:
        try:
            if data_key(path) != before:
                return now
        except FileNotFoundError:  # between the removal and the rename of a replace
            pass
        time.sleep(0.001)
    return None


def run(rounds: int = 20) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        direct = [bench.direct_latency() for _ in range(rounds // 2)]
        watched, lost = bench.auto_latencies(rounds)
        direct += [bench.direct_latency() for _ in range(rounds - rounds // 2)]
        calls = bench.calls_per_edit
    floor = median(direct)
    extra = [n for n in calls if n != 1]
    problems = []
    if lost:
        problems.append(f"{lost} of {rounds} edits never reached the data file")
    if extra:
        problems.append(f"{len(extra)} edits cost {sorted(set(extra))} model calls instead of 1")
    note = "; ".join(problems) or None
    results = []
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        value = percentile(watched, q) if watched else float("nan")
        print(
            f"doit auto, template edit -> data file, {label}: {value:.3f}s over {len(watched)}/{rounds} edits; "
            f"direct `doit fixtures:{EDITED}` after the same edit: median {floor:.3f}s "
            f"(ratio {value / floor:.2f}x)"
        )
        results.append(
            figure(
                f"auto_rebuild_{label}",
                f"`doit auto`: template edit → rebuilt fixture on disk, {label}",
                value=value,
                unit="s",
                floor=floor,
                floor_label=f"`doit fixtures:{EDITED}` run directly (median)",
                target=Target.value_at_most(1.0, "s", what="p50") if label == "p50" else Target.reported(),
                command=f"{COMMAND} {rounds}",
                also_requires=not problems,
                note=note,
            )
        )
    if note:
        print(f"!! {note}")
    return results


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
