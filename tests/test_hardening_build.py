"""Hostile generators, answers, records and file systems: one clear line each, never a hang,
a traceback, a leaked key or a lost fixture. Real doit subprocesses on a temp project."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from doit_project import Project

pytestmark = pytest.mark.slow

SECRET = "sk-hotdata-HARDENING-0123456789abcdef"

BAD_GENERATORS = """
import asyncio
import sys
import time

from pydantic import BaseModel

from hotdata.make import fixture

from .schemas import Note


class Score(BaseModel):
    value: float


@fixture("bad/forever", schema=Note, timeout=2)
async def forever(ctx):
    await asyncio.Event().wait()


@fixture("bad/blocking", schema=Note, timeout=2)
async def blocking(ctx):
    time.sleep(3600)


@fixture("bad/exits", schema=Note)
async def exits(ctx):
    sys.exit(3)


@fixture("bad/interrupt", schema=Note)
async def interrupt(ctx):
    raise KeyboardInterrupt


@fixture("bad/cancelled", schema=Note)
async def cancelled(ctx):
    raise asyncio.CancelledError


@fixture("bad/nan", schema=Score)
async def nan(ctx):
    return Score(value=float("nan"))


@fixture("bad/surrogate", schema=Note)
async def surrogate(ctx):
    return Note(title="t", body="broken \\ud800 text")
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(BAD_GENERATORS.split("\n"), 1) if text in line)


def summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("hotdata: "))


def test_misbehaving_generators_fail_alone_and_the_run_ends(project: Project) -> None:
    project.path("gens/bad.py").write_text(BAD_GENERATORS)
    project.edit("templates/note.j2", "welcome", "warm welcome")  # a well-behaved fixture to build too
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures"],
        cwd=project.root,
        env=project._env(None),
        capture_output=True,
        text=True,
        timeout=120,  # the run must end on its own: each deadline is 2 s
    )
    out = proc.stdout
    assert proc.returncode != 0
    assert "Traceback" not in out + proc.stderr
    assert "1 generated" in summary(out) and "7 failed" in summary(out)
    assert project.calls() == ["notes/welcome"]  # the others were not held up
    failures = out[out.index("fixture(s) failed:") :]
    assert "bad/forever: fixture bad/forever did not finish within fixture_timeout = 2s" in failures
    assert (
        "bad/blocking: fixture bad/blocking blocked its event loop past fixture_timeout = 2s, stuck at"
        in failures
    )
    assert f"bad.py, line {line_of('time.sleep(3600)')}" in failures
    assert "generator exits raised SystemExit: 3" in failures
    assert f"bad.py, line {line_of('sys.exit(3)')}" in failures
    assert "generator interrupt raised KeyboardInterrupt" in failures
    assert "generator cancelled raised CancelledError" in failures
    assert "generator nan returned a value JSON cannot hold" in failures
    assert "generator surrogate returned text that is not valid Unicode" in failures
    assert not list(project.path("fixtures/bad").glob("*")) if project.path("fixtures/bad").exists() else True


def test_non_finite_numbers_and_trailing_prose_in_answers(project: Project, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    good = {"name": "Ada", "phase": "crisis", "summary": "Ada counts the minutes until the pumps restart."}
    script.write_text(
        json.dumps(
            {
                "archetype is crisis": [json.dumps(good) + "\nThis agent is in crisis, as requested."],
                "[fixture notes/welcome]": ['{"text": "Welcome aboard, the coffee is in the galley."}'],
            }
        )
    )
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    project.doit("fixtures:agents/crisis", "force=1", env=env, check=True)
    assert project.calls() == ["agents/crisis"]  # JSON followed by prose: the first value counts

    project.path("gens/scored.py").write_text(
        "from pydantic import BaseModel\n"
        "from hotdata.make import fixture\n\n\n"
        "class Score(BaseModel):\n    value: float\n\n\n"
        '@fixture("scores/one", schema=Score, template="note.j2")\n'
        "async def one(ctx):\n    return await ctx.generate(ctx.render() + ' score')\n"
    )
    script.write_text(json.dumps({" score": ['{"value": NaN}', '{"value": 1e400}', '{"value": 0.5}']}))
    proc = project.doit("fixtures:scores/one", env=env, check=True)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert project.calls() == ["scores/one"] * 3
    record = json.loads(project.path("fixtures/scores/one.meta.json").read_text())
    assert [len(a["reasons"]) for a in record["failed_attempts"]] == [1, 1]
    assert "JSON cannot" in record["failed_attempts"][0]["reasons"][0]


def test_a_record_with_wrong_types_reads_stale_and_is_rebuilt(project: Project) -> None:
    meta = project.path("fixtures/notes/welcome.meta.json")
    record = json.loads(meta.read_text())
    record["fingerprint"]["templates"] = ["note.j2"]
    meta.write_text(json.dumps(record))
    crisis_meta = project.path("fixtures/agents/crisis.meta.json")
    other = json.loads(crisis_meta.read_text())
    other["generated_at"] = "9999-12-31T00:00:00Z"
    other["ttl_seconds"] = 86400
    crisis_meta.write_text(json.dumps(other))
    rows = project.status()
    assert rows["notes/welcome"]["state"] == "stale"
    assert "unreadable: fingerprint.templates" in rows["notes/welcome"]["reason"]
    assert rows["agents/crisis"]["state"] == "stale" and "in the future" in rows["agents/crisis"]["reason"]
    assert rows["agents/deliberating"]["state"] == "fresh"
    validate = project.doit("validate")
    assert "Traceback" not in validate.stdout + validate.stderr
    proc = project.doit("fixtures", check=True)
    assert "2 generated" in proc.stdout
    assert {r["state"] for r in project.status().values()} == {"fresh"}


def test_unwritable_places_fail_before_any_model_call(project: Project) -> None:
    data = project.path("fixtures/notes/welcome.json")
    data.unlink()
    data.mkdir()  # a directory where the data file belongs
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "welcome.json is a directory, so the fixture cannot be written there" in proc.stdout
    assert "notes/welcome" not in project.calls()
    assert "Traceback" not in proc.stdout + proc.stderr


def limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit fails instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))


def test_a_write_error_keeps_the_old_pair_and_leaves_no_stray_file(project: Project) -> None:
    # post-processing only: the answer is replayed (nothing recorded), the data grows past the limit
    project.edit(
        "gens/agents.py",
        'return Note(title="Welcome aboard", body=draft.text)',
        'return Note(title="Welcome-aboard-" + "a" * 400, body=draft.text)',
    )
    before = {p: p.read_bytes() for p in project.path("fixtures/notes").iterdir()}
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures:notes/welcome"],
        cwd=project.root,
        env=project._env(None),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
    assert proc.returncode != 0
    assert "cannot write" in proc.stdout and "File too large" in proc.stdout
    assert "the previous files are kept" in proc.stdout
    assert {p: p.read_bytes() for p in project.path("fixtures/notes").iterdir()} == before
    assert "Traceback" not in proc.stdout + proc.stderr


def test_secret_options_and_params_are_never_recorded_or_printed(project: Project) -> None:
    project.edit(
        "gens/agents.py",
        '@fixture("notes/welcome", schema=Note, template="note.j2")',
        '@fixture("notes/welcome", schema=Note, template="note.j2", '
        f'model_options={{"key": "{SECRET}", "temperature": 0.3}})',
    )
    proc = project.doit("fixtures", env={"MY_API_TOKEN": SECRET}, check=True)
    listing = project.doit("list", "--all", env={"MY_API_TOKEN": SECRET}, check=True)
    status = project.doit("status", env={"MY_API_TOKEN": SECRET}, check=True)
    for text in (proc.stdout + proc.stderr, listing.stdout, status.stdout):
        assert SECRET not in text
    for path in project.path("fixtures").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["model_options"]["key"] == "<secret>"
    assert record["model_options"]["temperature"] == 0.3
