"""Reliability: crashes, mixed faults and bad input, through real doit and real HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

MANY = """
from hotdata.make import fixture
from .schemas import Note


@fixture("many/item_{{i:02d}}", schema=Note, template="note.j2", variants=[{{"i": i}} for i in range({n})])
async def many(ctx, i):
    return await ctx.generate(ctx.render() + f" (number {{i}})")
"""

FAST_RETRIES = """
[tool.hotdata.retries]
max_attempts = 5
validation_attempts = 3
request_timeout = 2.0
backoff_initial = 0.01
backoff_max = 0.05
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=3) as srv:
        yield srv


def http_project(tmp_path: Path, server: FakeOpenAIServer, n: int) -> tuple[Project, dict[str, str]]:
    project = Project.create(tmp_path)
    project.path("gens/many.py").write_text(MANY.format(n=n))
    with project.path("pyproject.toml").open("a") as fh:
        fh.write(FAST_RETRIES)
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt")
    return project, {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}


def consistent(project: Project) -> list[str]:
    """Every data file complete and valid JSON, every record (or matching pending record) its twin."""
    problems = []
    for data in sorted(project.path("fixtures").rglob("*.json")):
        if data.name.endswith(".meta.json") or data.name.startswith(".") or ".answers" in data.parts:
            continue
        raw = data.read_bytes()
        try:
            json.loads(raw)
        except ValueError:
            problems.append(f"{data}: not complete JSON")
            continue
        sha = hashlib.sha256(raw).hexdigest()
        meta = data.with_name(data.name[: -len(".json")] + ".meta.json")
        pending = meta.with_name(meta.name + ".pending")
        shas = [json.loads(p.read_bytes())["data_sha256"] for p in (meta, pending) if p.exists()]
        if sha not in shas:
            problems.append(f"{data}: no record matches the data")
    return problems


def _in_flight(fixtures: Path) -> bool:
    """A write is under way: a temp file or a pending record exists."""
    return any(p.name.endswith((".tmp", ".pending")) for p in fixtures.rglob(".*")) or any(
        fixtures.rglob("*.pending")
    )


def test_kill_9_at_random_moments_never_corrupts(tmp_path: Path, server: FakeOpenAIServer) -> None:
    server.latency = 0.1
    project, env = http_project(tmp_path, server, 24)
    env["HOTDATA_CONCURRENCY"] = "4"
    fixtures = project.path("fixtures")
    rng = random.Random(7)
    kills = during_writes = 0
    for _ in range(22):
        seen = len(server.requests)
        proc = project.popen("fixtures", "force=1", "replay=off", env=env)
        # Kill on observed events, never after a guessed delay: first the k-th request
        # reaching the server, then (when one shows up soon) a write in flight.
        target = seen + rng.randint(1, 16)
        while len(server.requests) < target and proc.poll() is None:
            time.sleep(0.002)
        writing = False
        while not writing and len(server.requests) < target + 4 and proc.poll() is None:
            writing = _in_flight(fixtures)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            during_writes += writing
        proc.communicate(timeout=30)
        assert consistent(project) == []
    assert kills == 22, "every run is killed on an event that happens mid-run"
    assert during_writes >= 1, "some kills land while a pair is being written"
    final = project.doit("fixtures", env=env)
    assert final.returncode == 0, final.stdout + final.stderr
    assert consistent(project) == []
    rows = project.status(env)
    assert len(rows) == 27
    assert {row["state"] for row in rows.values()} == {"fresh"}
    leftovers = [p.name for p in fixtures.rglob("*") if p.name.endswith((".tmp", ".pending"))]
    assert leftovers == []


def test_thirty_percent_faults_over_fifty_fixtures(tmp_path: Path, server: FakeOpenAIServer) -> None:
    project, env = http_project(tmp_path, server, 50)
    project.doit("fixtures", env=env, check=True)
    before = {p: p.read_bytes() for p in project.path("fixtures").rglob("*.json")}
    server.requests.clear()
    server.fail_randomly(0.3, ["429", "500", "503", "drop", "malformed", "invalid", "truncated"])
    proc = project.doit("fixtures", "force=1", "replay=off", env=env)
    out = proc.stdout
    failed = [line.split(":")[0].strip("- ").strip() for line in out.splitlines() if line.startswith("  - ")]
    for line in out.splitlines():
        if line.startswith("  - "):
            assert "gave up after 5 attempt(s)" in line or "no acceptable answer" in line, line
    for name in failed:  # a failed fixture keeps its previous files exactly
        data = project.path(f"fixtures/{name}.json")
        assert data.read_bytes() == before[data]
    assert consistent(project) == []
    faults = sum(1 for r in server.requests if r["fault"])
    assert faults >= 10
    assert len(failed) <= 3, out
    assert "53 generated" in out or f"{53 - len(failed)} generated" in out


def test_bad_names_are_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    for bad in ("../escape", "/abs/path"):
        project.path("gens/bad.py").write_text(
            f'from hotdata.make import fixture\nfrom .schemas import Note\n\n\n@fixture("{bad}", schema=Note)\n'
            "async def bad(ctx):\n    return Note(title='t', body='b')\n"
        )
        proc = project.doit("fixtures")
        assert proc.returncode != 0
        assert f"invalid fixture name '{bad}'" in proc.stdout + proc.stderr
        assert not (tmp_path / "escape.json").exists()
    project.path("gens/bad.py").unlink()
    outside = tmp_path / "outside"
    outside.mkdir()
    project.path("fixtures").mkdir(exist_ok=True)
    os.symlink(outside, project.path("fixtures/notes"))
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "outside the fixtures root" in proc.stdout
    assert list(outside.iterdir()) == []
    assert project.status()["notes/welcome"]["state"] == "invalid"


def test_corrupt_provenance_and_non_utf8_files(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    project.calls()
    meta = project.path("fixtures/notes/welcome.meta.json")
    meta.write_text('{"format": 1, "name": ')
    row = project.status()["notes/welcome"]
    assert row["state"] == "stale"
    assert "provenance record welcome.meta.json unreadable" in row["reason"]
    proc = project.doit("validate")
    assert proc.returncode != 0
    assert "welcome.meta.json unreadable" in proc.stdout
    proc = project.doit("fixtures", check=True)
    assert "1 generated" in proc.stdout and "1 replayed" in proc.stdout  # rebuilt from its recorded answer
    assert project.calls() == []

    project.path("fixtures/agents/crisis.json").write_bytes(b'{"name": "caf\xe9"}')
    proc = project.doit("validate")
    assert proc.returncode != 0
    assert "crisis.json" in proc.stdout

    project.path("templates/note.j2").write_bytes(b"Caf\xe9 note\n")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "note.j2 is not valid UTF-8" in proc.stdout
    assert project.calls() == []
