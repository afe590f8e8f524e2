"""Issue 21, section 4: review files. A staged pair (NAME.json.new + NAME.meta.json.new) is
committed, merged and hand-edited like any file in fixtures/: broken pairs are named and
rejected, a reviewer's edit is kept as a hand edit, accept runs validate's checks, a decision
applies only to what was listed, an interrupted accept is finished, and orphans are reported.

Real `doit` subprocesses on temp projects (the fake model, or the fake OpenAI server where a
build must be held half-way), real files. Each test states the line the user sees, the exit
code, what is on disk and what was billed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from doit_project import Output, Project, wait_for_request

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

AGENTS = ["agents/crisis", "agents/deliberating"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def stage_agents(project: Project) -> None:
    """Both agents rebuilt for review (a template they include changed)."""
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    proc = project.doit("fixtures", "review=1", check=True)
    assert "2 fixture(s) pending review: doit review" in proc.stdout
    assert project.calls() == AGENTS


def fixture_files(project: Project) -> dict[str, bytes]:
    """Every file under fixtures/ but the answer store and the catalog page, by relative path."""
    root = project.path("fixtures")
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".answers" not in p.parts and p.name != "README.md"
    }


def leftovers(project: Project) -> list[str]:
    """Staged, pending and temporary fixture files under fixtures/ (none once every decision is
    made); the staged answers of a pending fixture (.answers/KEY.json.new) are not counted."""
    root = project.path("fixtures")
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.endswith((".new", ".pending", ".tmp")) and ".answers" not in p.relative_to(root).parts
    )


def answers(project: Project) -> list[str]:
    """The keys of the recorded answers (fixtures/.answers/<2 hex>/<key>.json), staged ones
    (<key>.json.new, a build awaiting review) included."""
    root = project.path("fixtures/.answers")
    return sorted(p.name.split(".")[0] for p in [*root.glob("??/*.json"), *root.glob("??/*.json.new")])


def out(proc: Any) -> str:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    return text


def rewrite_staged(
    project: Project, name: str, edit: Callable[[dict[str, Any], dict[str, Any]], None]
) -> None:
    """Change a staged pair consistently (data and its record's sha256), as a merge could."""
    data_new = project.path(f"fixtures/{name}.json.new")
    meta_new = project.path(f"fixtures/{name}.meta.json.new")
    data, record = json.loads(data_new.read_bytes()), json.loads(meta_new.read_bytes())
    edit(data, record)
    raw = json.dumps(data).encode()
    record["data_sha256"] = hashlib.sha256(raw).hexdigest()
    data_new.write_bytes(raw)
    meta_new.write_text(json.dumps(record))


# ---------------------------------------------------------------- broken staged pairs, crashes


def _truncate_record(project: Project) -> str:
    meta_new = project.path("fixtures/agents/crisis.meta.json.new")
    meta_new.write_bytes(meta_new.read_bytes()[:40])
    return "crisis.meta.json.new cannot be read: not valid JSON ("


def _record_without_data(project: Project) -> str:
    project.path("fixtures/agents/crisis.json.new").unlink()
    return "crisis.json.new is missing (its record crisis.meta.json.new is there)"


def _data_not_json(project: Project) -> str:
    project.path("fixtures/agents/crisis.json.new").write_text('{"name": "Ada", "summary": ')
    return "crisis.json.new is not JSON (Expecting value at line 1 column 28)"


def _data_not_utf8(project: Project) -> str:
    project.path("fixtures/agents/crisis.json.new").write_bytes(b'{"name": "\xff"}')
    return "crisis.json.new is not valid UTF-8 (invalid start byte at byte 10)"


def _data_a_symlink(project: Project) -> str:
    data_new = project.path("fixtures/agents/crisis.json.new")
    outside = project.root.parent / "outside.json"
    outside.write_bytes(data_new.read_bytes())
    data_new.unlink()
    data_new.symlink_to(outside)
    return "crisis.json.new is a symbolic link, not a staged file"


BREAKAGES = {
    "truncated record": _truncate_record,
    "record without data": _record_without_data,
    "data not JSON": _data_not_json,
    "data not UTF-8": _data_not_utf8,
    "data a symlink": _data_a_symlink,
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_broken_staged_pair_is_named_kept_from_prune_and_rejected(project: Project, breakage: str) -> None:
    stage_agents(project)
    committed = {k: v for k, v in fixture_files(project).items() if not k.endswith(".new")}
    problem = BREAKAGES[breakage](project)
    broken = f"staged change is broken: {problem}"
    stored = answers(project)

    row = project.status()["agents/crisis"]
    assert row["state"] == "pending" and broken in row["reason"], row
    assert row["reason"].endswith("fix it or `doit reject agents/crisis`")

    listing = out(project.doit("review", check=True))
    assert f"agents/crisis  BROKEN: {problem}" in listing
    assert "agents/deliberating  (template partials/voice.j2 changed; " in listing
    (entry,) = [
        e for e in json.loads(project.doit("review", "--json", check=True).stdout) if e["state"] == "broken"
    ]
    assert entry["name"] == "agents/crisis" and broken in entry["problems"][0]

    proc = project.doit("accept", "agents/crisis")
    assert proc.returncode == 1
    assert f"left pending: agents/crisis: {broken}" in out(proc)
    proc = project.doit("validate")
    assert proc.returncode == 1 and f"agents/crisis: {broken}" in out(proc)

    # prune keeps every answer while a staged record may be unreadable; a build keeps the pair
    # (a record that cannot be read keeps every answer recorded for its fixture: _prune)
    proc = project.doit("prune")
    assert proc.returncode == 0, out(proc)
    assert answers(project) == stored
    project.doit("fixtures", check=True)
    assert project.calls() == []
    assert project.status()["agents/crisis"]["state"] == "pending"

    proc = project.doit("reject", "agents/crisis")
    assert proc.returncode == 0, out(proc)
    assert "rejected agents/crisis (broken)" in proc.stdout
    assert not any(k.startswith("agents/crisis.") and ".new" in k for k in fixture_files(project))
    assert not project.path("fixtures/agents/crisis.json.new").is_symlink()
    assert (
        project.root.parent / "outside.json"
    ).exists() or breakage != "data a symlink"  # only the link goes
    after = {k: v for k, v in fixture_files(project).items() if not k.endswith(".new")}
    assert after == committed  # the committed pairs never changed
    assert project.status()["agents/crisis"]["state"] == "stale"  # as before it was staged
    assert project.calls() == []


# ---------------------------------------------------------------- a reviewer's edit


def test_a_reviewers_edit_survives_builds_and_is_accepted_as_a_hand_edit(project: Project) -> None:
    stage_agents(project)
    data_new = project.path("fixtures/agents/crisis.json.new")
    fixed = json.loads(data_new.read_bytes())
    fixed["summary"] = "Kestrel radios Vesper about the coolant pump."
    data_new.write_text(json.dumps(fixed, indent=1))  # the reviewer's own formatting
    edited_bytes = data_new.read_bytes()

    row = project.status()["agents/crisis"]
    assert row["state"] == "pending"
    assert "crisis.json.new was edited by hand (accepting keeps it as a hand edit)" in row["reason"]
    listing = out(project.doit("review", check=True))
    assert "agents/crisis  (edited by hand in review, template partials/voice.j2 changed; " in listing
    assert '"Kestrel radios Vesper about the coolant pump."' in listing

    # builds keep it, even once its inputs changed again (like any hand edit); nothing is billed
    project.edit("templates/partials/voice.j2", "boldly", "boldly and briefly")
    proc = project.doit("fixtures", "review=1", check=True)
    assert project.calls() == ["agents/deliberating"]  # only the unedited one is staged again
    assert data_new.read_bytes() == edited_bytes
    project.doit("review", check=True)

    proc = project.doit("accept", "agents/crisis")
    assert proc.returncode == 0, out(proc)
    assert (
        "accepted agents/crisis as a hand edit (template partials/voice.j2 changed; builds keep it"
        in proc.stdout
    )
    assert project.path("fixtures/agents/crisis.json").read_bytes() == edited_bytes
    record = json.loads(project.path("fixtures/agents/crisis.meta.json").read_bytes())
    assert record["reason"].endswith(
        "edited by hand in review (fixtures/agents/crisis.json.new) before it was accepted"
    )
    assert record["data_sha256"] != hashlib.sha256(edited_bytes).hexdigest()  # the record says: a hand edit
    row = project.status()["agents/crisis"]
    assert (row["state"], row["reason"]) == ("edited", "data edited by hand since generation (kept)")
    assert leftovers(project) == ["agents/deliberating.json.new", "agents/deliberating.meta.json.new"]
    project.doit("fixtures", check=True)
    assert project.calls() == []
    assert project.path("fixtures/agents/crisis.json").read_bytes() == edited_bytes


# ---------------------------------------------------------------- accept runs validate's checks


def _schema_invalid(data: dict[str, Any], record: dict[str, Any]) -> None:
    data["name"] = "N" * 60


def _other_fixtures_record(data: dict[str, Any], record: dict[str, Any]) -> None:
    record["name"] = "agents/deliberating"


REFUSALS = {
    "schema-invalid data": (
        _schema_invalid,
        "fixtures/agents/crisis.json.new: at name: String should have at most 40 characters",
    ),
    "a record naming another fixture": (
        _other_fixtures_record,
        "its record crisis.meta.json.new names fixture 'agents/deliberating', not 'agents/crisis'",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_accept_refuses_what_validate_would_refuse(project: Project, case: str) -> None:
    stage_agents(project)
    edit, line = REFUSALS[case]
    rewrite_staged(project, "agents/crisis", edit)
    before = fixture_files(project)
    listing = out(project.doit("review", check=True))
    assert f"! accept refuses it: {line}" in listing
    proc = project.doit("accept", "--all")
    assert proc.returncode == 1
    assert f"left pending: agents/crisis: {line}" in out(proc)
    assert "accepted agents/deliberating (template partials/voice.j2 changed)" in proc.stdout
    after = fixture_files(project)
    assert {k: after[k] for k in before if k.startswith("agents/crisis")} == {
        k: v for k, v in before.items() if k.startswith("agents/crisis")
    }  # committed and staged pair untouched
    assert project.calls() == []


def test_accept_refuses_a_reviewers_edit_that_fails_a_quality_gate(project: Project) -> None:
    stage_agents(project)
    data_new = project.path("fixtures/agents/crisis.json.new")
    data = json.loads(data_new.read_bytes())
    data["summary"] = "Lorem ipsum dolor sit amet, the pump is failing again."
    data_new.write_text(json.dumps(data))
    proc = project.doit("accept", "agents/crisis")
    assert proc.returncode == 1
    text = out(proc)
    assert "left pending: agents/crisis: fixtures/agents/crisis.json.new: " in text and "[degenerate]" in text
    assert data_new.read_text() == json.dumps(data)
    assert project.status()["agents/crisis"]["state"] == "pending"


def test_accept_never_discards_a_hand_edit_of_the_committed_data_unasked(project: Project) -> None:
    stage_agents(project)
    committed = project.path("fixtures/agents/crisis.json")
    mine = json.loads(committed.read_bytes())
    mine["summary"] = "Hand-curated after staging."
    committed.write_text(json.dumps(mine))
    hand = committed.read_bytes()

    proc = project.doit("accept", "agents/crisis")
    assert proc.returncode == 1
    assert (
        "left pending: agents/crisis: fixtures/agents/crisis.json was edited by hand since it was generated; "
        "accepting discards that edit. Keep it: `doit reject agents/crisis`; discard it: "
        "`doit accept agents/crisis force=1`"
    ) in out(proc)
    assert committed.read_bytes() == hand
    proc = project.doit("accept", "agents/crisis", "force=1")
    assert proc.returncode == 0, out(proc)
    assert "accepted agents/crisis (template partials/voice.j2 changed)" in proc.stdout
    assert committed.read_bytes() != hand
    assert project.status()["agents/crisis"]["state"] == "fresh"
    assert project.calls() == []


# ---------------------------------------------------------------- a decision applies to what was listed


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=3) as srv:
        yield srv


EXTRA = """
from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("extra/one", schema=Note, template="note.j2")
async def extra(ctx):
    draft = await ctx.generate(ctx.render() + " (extra)", Draft)
    return Note(title="Extra", body=draft.text)
"""


def chat(server: FakeOpenAIServer) -> int:
    return sum(r["path"].endswith("/chat/completions") for r in server.requests)


@pytest.mark.parametrize("reviewed", [True, False], ids=["after doit review", "without doit review"])
def test_accept_takes_what_was_listed_while_a_build_stages_more(
    tmp_path: Path, server: FakeOpenAIServer, reviewed: bool
) -> None:
    server.write_llm_config(tmp_path / "llm", "fake-gpt")
    env = {"LLM_USER_PATH": str(tmp_path / "llm"), "HOTDATA_MODEL": "fake-gpt"}
    project = Project.create(tmp_path)
    project.doit("fixtures", env=env, check=True)
    project.edit("templates/note.j2", "welcome", "warm welcome")
    if reviewed:  # the agents are staged and listed too; the build stages them again
        project.edit("templates/partials/voice.j2", "vividly", "boldly")
    project.doit("fixtures", "review=1", env=env, check=True)
    staged_before = fixture_files(project)
    if reviewed:
        listed = json.loads(project.doit("review", "--json", env=env, check=True).stdout)
        assert [e["name"] for e in listed] == ["agents/crisis", "agents/deliberating", "notes/welcome"]
        project.path("gens/extra.py").write_text(EXTRA)  # a fixture the reviewer never saw
    project.edit("templates/partials/voice.j2", "vividly" if not reviewed else "boldly", "gently")
    committed_agents = {
        k: v for k, v in staged_before.items() if k.startswith("agents/") and not k.endswith(".new")
    }

    billed = chat(server)
    server.hold()  # the build waits inside its model calls, holding the build lock
    build = Output(project.popen("fixtures", "review=1", env=env))
    try:
        wait_for_request(server, len(server.requests) + 1)
        accept = Output(project.popen("accept", "--all", env=env))
        accept.wait_for("another build holds")  # accept has looked, and waits for the build
    finally:
        server.release()
    build_out, accept_out = build.finish(), accept.finish()
    assert build.proc.returncode == 0, build_out
    assert accept.proc.returncode == 1, accept_out
    assert "Traceback" not in build_out + accept_out
    since = "`doit review` listed the pending fixtures" if reviewed else "`doit accept` started"
    assert "accepted notes/welcome (template note.j2 changed)" in accept_out
    expected = ["agents/crisis", "agents/deliberating"] + (["extra/one"] if reviewed else [])
    for name in expected:
        if reviewed and name.startswith("agents/"):  # listed, then staged again by the build
            line = f"left pending: {name}: changed after {since} (staged again or edited); `doit review` shows it now"
        else:
            line = f"left pending: {name}: staged after {since}; `doit review` shows it"
        assert line in accept_out
    assert f"FAILED accept: {len(expected)} staged change(s) left pending, 1 accepted" in accept_out

    # on disk: the listed pair accepted, the others still pending beside untouched committed pairs
    files = fixture_files(project)
    assert files["notes/welcome.json"] == staged_before["notes/welcome.json.new"]
    assert {k: files[k] for k in committed_agents} == committed_agents
    rows = project.status(env)
    assert rows["notes/welcome"]["state"] == "fresh"
    assert {rows[n]["state"] for n in expected} == {"pending"}
    # billed: exactly the calls the staged records account for (re-asks of refused answers included)
    calls = [
        json.loads(project.path(f"fixtures/{n}.meta.json.new").read_bytes())["usage"]["calls"]
        for n in expected
    ]
    assert chat(server) - billed == sum(calls) >= len(expected)


# ---------------------------------------------------------------- an interrupted accept


def _after_parking(project: Project, name: str) -> None:
    meta_new = project.path(f"fixtures/{name}.meta.json.new")
    project.path(f"fixtures/{name}.meta.json.pending").write_bytes(meta_new.read_bytes())


def _after_data_rename(project: Project, name: str) -> None:
    _after_parking(project, name)
    os.replace(project.path(f"fixtures/{name}.json.new"), project.path(f"fixtures/{name}.json"))


def _after_record_rename(project: Project, name: str) -> None:
    _after_data_rename(project, name)
    os.replace(project.path(f"fixtures/{name}.meta.json.pending"), project.path(f"fixtures/{name}.meta.json"))


# What kill -9 leaves after each step of an accept (hotdata.make.commit.Writer.accept).
KILLED_AFTER = {
    "parking the record": _after_parking,
    "renaming the data": _after_data_rename,
    "renaming the record": _after_record_rename,
}


@pytest.mark.parametrize("edited", [False, True], ids=["generated", "edited in review"])
@pytest.mark.parametrize("step", list(KILLED_AFTER))
def test_accept_after_a_killed_accept_finishes_it_and_leaves_nothing(
    project: Project, step: str, edited: bool
) -> None:
    stage_agents(project)
    if edited:
        data_new = project.path("fixtures/agents/crisis.json.new")
        data_new.write_text(data_new.read_text().replace('"summary": "', '"summary": "Fixed: '))
    staged = project.path("fixtures/agents/crisis.json.new").read_bytes()
    staged_record = json.loads(project.path("fixtures/agents/crisis.meta.json.new").read_bytes())
    KILLED_AFTER[step](project, "agents/crisis")

    proc = project.doit("accept", "--all")
    assert proc.returncode == 0, out(proc)
    assert leftovers(project) == []
    assert project.path("fixtures/agents/crisis.json").read_bytes() == staged
    record = json.loads(project.path("fixtures/agents/crisis.meta.json").read_bytes())
    assert (record["generated_at"], record["data_sha256"]) == (
        staged_record["generated_at"],
        staged_record["data_sha256"],
    )
    rows = project.status()
    assert rows["agents/crisis"]["state"] == ("edited" if edited else "fresh")
    assert rows["agents/deliberating"]["state"] == "fresh"
    assert project.calls() == []


# ---------------------------------------------------------------- orphans


def test_a_staged_pair_of_a_fixture_gone_from_the_catalog_is_an_orphan(project: Project) -> None:
    project.edit("templates/note.j2", "welcome", "warm welcome")
    project.doit("fixtures", "review=1", check=True)
    assert project.calls() == ["notes/welcome"]
    staged_record = json.loads(project.path("fixtures/notes/welcome.meta.json.new").read_bytes())
    source = project.path("gens/agents.py").read_text()
    project.path("gens/agents.py").write_text(source[: source.index('@fixture("notes/welcome"')])
    line = (
        "notes/welcome: a staged change of a fixture no longer in the catalog "
        "(fixtures/notes/welcome.json.new); `doit reject notes/welcome` removes it"
    )

    assert f"orphan: {line}" in out(project.doit("status", check=True))
    listing = out(project.doit("review", check=True))
    assert "notes/welcome  ORPHAN: a staged change of a fixture no longer in the catalog" in listing
    (entry,) = json.loads(project.doit("review", "--json", check=True).stdout)
    assert (entry["name"], entry["state"]) == ("notes/welcome", "orphan")
    proc = project.doit("validate")
    assert proc.returncode == 1 and f"  - {line}" in out(proc)
    proc = project.doit("accept", "notes/welcome")
    assert proc.returncode == 1
    assert "left pending: notes/welcome: no fixture named 'notes/welcome' is in the catalog any more" in out(
        proc
    )
    project.doit("prune", check=True)  # the orphan's answers are kept while it is staged
    assert set(staged_record["answers"]) <= set(answers(project))

    proc = project.doit("reject", "notes/welcome")
    assert proc.returncode == 0, out(proc)
    assert "rejected notes/welcome (a fixture no longer in the catalog)" in proc.stdout
    assert leftovers(project) == []
    assert "orphan:" not in project.doit("status", check=True).stdout
    assert project.calls() == []


def test_interactive_review_names_a_broken_pair_and_decides_the_rest(project: Project) -> None:
    stage_agents(project)
    problem = _truncate_record(project)
    code, output = project.on_terminal("review", keys=[b"a", b"a"])
    assert code == 0, output
    assert "Traceback" not in output
    assert f"agents/crisis  BROKEN: {problem}" in output
    assert f"left pending: agents/crisis: staged change is broken: {problem}" in output
    assert "accepted agents/deliberating (template partials/voice.j2 changed)" in output
    assert "doit review: 1 accepted, 0 rejected, 0 skipped, 1 left pending" in output
    rows = project.status()
    assert rows["agents/crisis"]["state"] == "pending" and rows["agents/deliberating"]["state"] == "fresh"
    assert project.calls() == []


def test_a_listing_that_cannot_be_trusted_makes_accept_ask_for_a_new_review(project: Project) -> None:
    stage_agents(project)
    project.doit("review", check=True)
    listing = project.path(".hotdata/review.json")
    assert set(json.loads(listing.read_bytes())["listed"]) == set(AGENTS)
    listing.write_text('{"listed": ["agents/crisis"]')  # truncated, and the wrong shape
    before = fixture_files(project)
    proc = project.doit("accept", "--all")
    assert proc.returncode == 1
    assert (
        f"{listing} (what `doit review` listed) is not a listing hotdata wrote; run `doit review` again"
        in out(proc)
    )
    assert fixture_files(project) == before
    project.doit("review", check=True)
    proc = project.doit("accept", "--all", check=True)
    assert [line for line in proc.stdout.splitlines() if line.startswith("accepted")] == [
        "accepted agents/crisis (template partials/voice.j2 changed)",
        "accepted agents/deliberating (template partials/voice.j2 changed)",
    ]
    assert not listing.exists()  # everything listed was decided
    assert project.calls() == []
