"""`@fixture(..., system="You are ...")`: a per-fixture system prompt (issue 22's demonstration).

It reaches the model first in every request of its fixture, is fingerprinted only when set
(so every record made without one stays fresh), keys the recorded answers, and a bad value is
refused in one line. Real `doit` subprocesses on a temp project, with the fake model.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project, fixture_of

from hotdata.make import fixture

REPO = Path(__file__).resolve().parents[1]
VOICE = "You are a ship's quartermaster who writes plainly."
OWN = "Answer in one short paragraph."

VOICED = """
from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("voiced/plain", schema=Note, template="note.j2", system={plain!r})
async def plain(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title="plain", body=draft.text)


@fixture("voiced/own", schema=Note, template="note.j2", system={own!r})
async def own(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft, system={call!r})
    return Note(title="own", body=draft.text)
"""


def voiced(plain: Any = VOICE, own: Any = VOICE, call: str = OWN) -> str:
    return VOICED.format(plain=plain, own=own, call=call)


def logged(project: Project) -> list[dict[str, Any]]:
    """Every request the fake model received since the last look (then forgotten)."""
    if not project.log.exists():
        return []
    lines = [json.loads(line) for line in project.log.read_text().splitlines()]
    project.log.unlink()
    return lines


def systems(project: Project) -> dict[str, set[str | None]]:
    """The system prompts the fake model received, by fixture."""
    out: dict[str, set[str | None]] = {}
    for call in logged(project):
        out.setdefault(fixture_of(call["prompt"]), set()).add(call["system"])
    return out


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.path("gens/voiced.py").write_text(voiced())
    proj.doit("fixtures", check=True)
    return proj


def record(project: Project, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(project.path(f"fixtures/{name}.meta.json").read_text())
    return data


@pytest.mark.slow
def test_the_system_prompt_reaches_the_model_first_then_the_calls_own(project: Project) -> None:
    seen = systems(project)
    assert seen["voiced/plain"] == {VOICE}
    assert seen["voiced/own"] == {f"{VOICE}\n\n{OWN}"}
    # fixtures without system= send what they sent before: no system prompt at all
    assert not any(seen["notes/welcome"] | seen["agents/deliberating"])  # llm shows none as ""
    assert record(project, "voiced/plain")["fingerprint"]["system"].startswith("sha256:")
    assert VOICE not in project.path("fixtures/voiced/plain.meta.json").read_text()  # a hash, not the text


@pytest.mark.slow
def test_adding_changing_or_removing_system_makes_exactly_that_fixture_stale(project: Project) -> None:
    logged(project)
    assert {row["state"] for row in project.status().values()} == {"fresh"}

    def stale() -> dict[str, str]:
        return {name: row["reason"] for name, row in project.status().items() if row["state"] != "fresh"}

    project.edit("gens/agents.py", 'template="note.j2")', f'template="note.j2", system={VOICE!r})')
    assert stale() == {"notes/welcome": "system prompt changed"}  # added
    project.path("gens/voiced.py").write_text(voiced(plain="You are a lighthouse keeper."))
    assert stale() == {"notes/welcome": "system prompt changed", "voiced/plain": "system prompt changed"}
    project.doit("fixtures", check=True)
    assert sorted({fixture_of(call["prompt"]) for call in logged(project)}) == [
        "notes/welcome",
        "voiced/plain",
    ]
    assert stale() == {}
    project.edit("gens/agents.py", f", system={VOICE!r})", ")")  # removed
    assert stale() == {"notes/welcome": "system prompt changed"}


@pytest.mark.slow
def test_without_system_the_fingerprint_is_what_it_was(tmp_path: Path) -> None:
    """This repository's catalog, recorded before `system=` existed, reads fresh as it is."""
    for name in ("pyproject.toml", "dodo.py"):
        shutil.copy2(REPO / name, tmp_path / name)
    for folder in ("generators", "fixtures"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    records = sorted((tmp_path / "fixtures").rglob("*.meta.json"))
    assert records and not any("system" in json.loads(p.read_text())["fingerprint"] for p in records)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HOTDATA_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "status", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(proc.stdout[proc.stdout.index("[") :])
    assert len(rows) == len(records)
    assert {(row["state"], row["reason"]) for row in rows} == {("fresh", "up to date")}


@pytest.mark.slow
def test_an_answer_recorded_under_another_system_prompt_is_not_replayed(project: Project) -> None:
    logged(project)
    project.path("gens/voiced.py").write_text(voiced(plain="You are a lighthouse keeper."))
    project.doit("fixtures", check=True)
    assert systems(project) == {"voiced/plain": {"You are a lighthouse keeper."}}  # asked, not replayed
    project.path("gens/voiced.py").write_text(voiced())  # back: its answers are still recorded
    proc = project.doit("fixtures", check=True)
    assert logged(project) == []
    assert "1 generated" in proc.stdout and "0 model call(s), 1 replayed" in proc.stdout, proc.stdout
    project.path("gens/voiced.py").write_text(voiced(plain="You are a cartographer."))
    proc = project.doit("fixtures", "replay=only")
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "the system differs from the recorded request" in text, text
    assert "Traceback" not in text
    assert logged(project) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("value", "line"),
    [
        ('""', "fixture 'voiced/plain': system='' is blank; give the system prompt as text"),
        ('"  \\n"', "fixture 'voiced/plain': system='  \\n' is blank; give the system prompt as text"),
        ("42", "fixture 'voiced/plain': system= must be a str, not int; give the system prompt as text"),
        ('["You are"]', "fixture 'voiced/plain': system= must be a str, not list; give the system"),
    ],
)
def test_a_blank_or_non_str_system_is_refused_in_one_line(tmp_path: Path, value: str, line: str) -> None:
    project = Project.create(tmp_path)
    source = voiced().replace(repr(VOICE), value, 1)
    project.path("gens/voiced.py").write_text(source)
    for command in (("fixtures",), ("status",)):
        proc = project.doit(*command)
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0, text
        assert any(line in out_line for out_line in text.splitlines()), text
        assert "Traceback" not in text, text
        # the location is the user's @fixture line, not hotdata's check that refused it
        assert "gens/voiced.py, line " in text, text
    assert logged(project) == []
    assert not project.path("fixtures/voiced").exists()


def test_the_readme_lists_every_fixture_option_once() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### @fixture options", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    assert sorted(listed) == sorted(inspect.signature(fixture).parameters)
    assert len(listed) == len(set(listed))


LONG_VOICE = (
    "You are the harbour master of a cold northern port who keeps a ledger of every ship "
    "that docks and every crate that is unloaded."
)
COPIER = """
from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("voiced/copier", schema=Note, template="note.j2", system={voice!r})
async def copier(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title="copier", body={body!r})
"""


@pytest.mark.slow
def test_data_that_copies_the_system_prompt_is_refused_as_an_echo(tmp_path: Path) -> None:
    """The echo gate reads the fixture's system prompt like the prompts asked: a model that
    copies its instructions into the data is refused, not committed."""
    proj = Project.create(tmp_path)
    copied = "Today I am the harbour master of a cold northern port who keeps a ledger of every ship."
    proj.path("gens/copier.py").write_text(COPIER.format(voice=LONG_VOICE, body=copied))
    result = proj.doit("fixtures")
    assert result.returncode != 0
    assert "copies the prompt" in result.stdout + result.stderr
    assert not proj.path("fixtures/voiced/copier.json").exists()
    own = "The ledger lists three trawlers and a salt barge, all in before the ice closed the bay."
    proj.path("gens/copier.py").write_text(COPIER.format(voice=LONG_VOICE, body=own))
    proj.doit("fixtures", check=True)
    assert json.loads(proj.path("fixtures/voiced/copier.json").read_text())["body"] == own


def test_a_batched_request_carries_the_system_prompt_first() -> None:
    """Batch mode sends the same request the synchronous path builds: the body of the provider
    batch (llm's own message building) opens with the fixture's system prompt."""
    from hotdata.make.batch import batchable_model, chat_body
    from hotdata.make.models import ModelRequest

    model = batchable_model("gpt-4o-mini")
    assert model is not None
    request = ModelRequest(model="gpt-4o-mini", prompt="Write a note.", fixture="voiced/plain", system=VOICE)
    messages = chat_body(model, request)["messages"]
    assert messages[0] == {"role": "system", "content": VOICE}
    assert messages[-1] == {"role": "user", "content": "Write a note."}


@pytest.mark.slow
def test_an_ad_hoc_fixture_takes_a_system_prompt_kept_in_its_declaration(tmp_path: Path) -> None:
    """`doit generate --system` is `@fixture(system=)` for an ad hoc fixture: sent first, kept in
    its declaration so status, verify and later builds see the same fixture."""
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    logged(project)
    args = ["generate", "--schema", "gens.schemas:Note", "--prompt", "[fixture adhoc/rain] A note about rain"]
    project.doit(*args, "--name", "adhoc/rain", "--system", VOICE, check=True)
    assert systems(project) == {"adhoc/rain": {VOICE}}
    declared = json.loads(project.path("fixtures/.adhoc/adhoc/rain.json").read_text())
    assert declared["system"] == VOICE
    assert project.status()["adhoc/rain"]["state"] == "fresh"
    verify = project.doit("verify", env={"HOTDATA_OFFLINE": "1"}, check=True)
    assert "0 model calls" in verify.stdout
    # without --system, the declaration is what it was before there could be one
    project.doit(*args, "--name", "adhoc/plain", check=True)
    assert "system" not in json.loads(project.path("fixtures/.adhoc/adhoc/plain.json").read_text())
    blank = project.doit(*args, "--name", "adhoc/blank", "--system", "  ")
    assert blank.returncode != 0 and "--system is blank" in blank.stdout + blank.stderr
    assert "Traceback" not in blank.stdout + blank.stderr
