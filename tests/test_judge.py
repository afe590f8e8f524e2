"""The judge gate (issue 23, part 2): `judge=` on @fixture and `[tool.hotdata.judge]`.

A judge model answers yes/no questions about the whole fixture after the quality gates pass;
a "no" refuses the value and the generator runs again. Verdicts go into the record and the
answer store, are replayed with no model call by `doit verify`, and are shown by `doit review`.
Real `doit` subprocesses on a temp project, with the scripted fake model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

QUESTION = "Does the note welcome a new teammate?"
OTHER = "Is the note free of jargon?"
GOOD = "Welcome aboard, your desk is by the north window and the coffee is in the galley."
BETTER = "Welcome aboard, the team meets at nine by the north window; bring your questions."

JUDGED = """
from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("notes/judged", schema=Note, template="judged.j2", judge={judge})
async def judged(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title="Judged", body=draft.text)
"""


def note(text: str) -> str:
    return json.dumps({"text": text})


def verdict(answer: str, reason: str, field: str = "") -> str:
    return json.dumps({"answer": answer, "field": field, "reason": reason})


def make_project(tmp_path: Path, judge: Any = (QUESTION,)) -> Project:
    project = Project.create(tmp_path)
    project.path("templates/judged.j2").write_text("[fixture notes/judged]\nWrite a welcome note.\n")
    project.path("gens/judged.py").write_text(JUDGED.format(judge=repr(list(judge))))
    return project


def the_others() -> dict[str, list[str]]:
    """Answers for the template project's other fixtures, so a whole build can be scripted."""
    agent = {
        "name": "Mira Holt",
        "phase": "deliberating",
        "summary": "Weighs each option twice before acting.",
    }
    crisis = {
        "name": "Ossian Vale",
        "phase": "crisis",
        "summary": "Juggles three outages at once and keeps calm.",
    }
    return {
        "[fixture agents/deliberating]": [json.dumps(agent)],
        "[fixture agents/crisis]": [json.dumps(crisis)],
        "[fixture notes/welcome]": [
            note("Glad you joined us; the kettle is in the galley and lunch is at noon.")
        ],
    }


def scripted(tmp_path: Path, script: dict[str, list[str]]) -> dict[str, str]:
    """The environment of a build whose model answers from ``script`` (questions first: the
    judge's prompt quotes the fixture, so the first key the prompt contains must be the question)."""
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(path)}


def record(project: Project, name: str = "notes/judged") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(project.path(f"fixtures/{name}.meta.json").read_text())
    return data


def calls(project: Project) -> list[dict[str, Any]]:
    if not project.log.exists():
        return []
    lines = [json.loads(line) for line in project.log.read_text().splitlines()]
    project.log.unlink()
    return lines


@pytest.mark.slow
def test_a_yes_passes_and_is_recorded_with_the_question_and_model(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    env = scripted(
        tmp_path,
        {QUESTION: [verdict("yes", "It greets the newcomer.")], "[fixture notes/judged]": [note(GOOD)]},
    )
    project.doit("fixtures:notes/judged", env=env, check=True)
    assert json.loads(project.path("fixtures/notes/judged.json").read_text())["body"] == GOOD
    meta = record(project)
    assert meta["verdicts"] == [
        {
            "question": QUESTION,
            "answer": "yes",
            "field": "",
            "reason": "It greets the newcomer.",
            "model": "hotdata-fake:script",
        }
    ]
    assert meta["fingerprint"]["judge"] == {"questions": [QUESTION], "model": "hotdata-fake:script"}
    judged = [c for c in calls(project) if QUESTION in c["prompt"]]
    assert len(judged) == 1 and GOOD in judged[0]["prompt"]  # the judge reads the fixture's JSON
    assert meta["failed_attempts"] == []


@pytest.mark.slow
def test_a_no_is_a_refusal_the_generator_runs_again_and_the_next_value_is_accepted(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    script = {
        QUESTION: [verdict("no", "It reads like a farewell.", "/body"), verdict("yes", "It greets.")],
        "[fixture notes/judged]": [note(GOOD), note(BETTER)],
    }
    proc = project.doit("fixtures:notes/judged", env=scripted(tmp_path, script), check=True)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert json.loads(project.path("fixtures/notes/judged.json").read_text())["body"] == BETTER
    meta = record(project)
    reasons = [r for attempt in meta["failed_attempts"] for r in attempt["reasons"]]
    assert reasons == [f"fixture: judge: {QUESTION} — no: It reads like a farewell. (field /body)"]
    assert [v["answer"] for v in meta["verdicts"]] == ["yes"]


@pytest.mark.slow
def test_always_no_fails_in_one_line_naming_the_question_and_keeps_the_last_good_fixture(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    yes = {QUESTION: [verdict("yes", "It greets.")], "[fixture notes/judged]": [note(GOOD)]}
    project.doit("fixtures:notes/judged", env=scripted(tmp_path, yes), check=True)
    kept = project.path("fixtures/notes/judged.json").read_bytes()
    kept_meta = project.path("fixtures/notes/judged.meta.json").read_bytes()
    project.path("gens/judged.py").write_text(JUDGED.format(judge=repr([QUESTION, OTHER])))
    assert project.status(env=scripted(tmp_path, yes))["notes/judged"]["reason"] == "judge questions changed"
    no = {
        OTHER: [verdict("no", "It says 'synergy' twice.", "/body")],
        QUESTION: [verdict("yes", "It greets.")],
        "[fixture notes/judged]": [note(BETTER)],
    }
    proc = project.doit("fixtures:notes/judged", env=scripted(tmp_path, no))
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if "the judge refused every value" in line]
    assert lines, text
    assert OTHER in lines[0] and "It says 'synergy' twice." in lines[0] and "(field /body)" in lines[0]
    assert project.path("fixtures/notes/judged.json").read_bytes() == kept
    assert project.path("fixtures/notes/judged.meta.json").read_bytes() == kept_meta
    leftovers = [p.name for p in project.path("fixtures/notes").iterdir() if "judged" in p.name]
    assert sorted(leftovers) == ["judged.json", "judged.meta.json"]  # no partial file


@pytest.mark.slow
def test_verify_replays_the_verdicts_with_no_model_call_and_fails_when_one_differs(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    script = {
        QUESTION: [verdict("yes", "It greets.")],
        "[fixture notes/judged]": [note(GOOD)],
        **the_others(),
    }
    project.doit("fixtures", env=scripted(tmp_path, script), check=True)
    calls(project)
    offline = {**scripted(tmp_path, script), "HOTDATA_OFFLINE": "1"}
    rebuilt = project.doit("fixtures:notes/judged", "force=1", env=offline, check=True)
    assert "0 model call(s)" in rebuilt.stdout, rebuilt.stdout
    verify = project.doit("verify", env=offline, check=True)
    assert "0 model calls" in verify.stdout
    assert calls(project) == []
    meta_path = project.path("fixtures/notes/judged.meta.json")
    meta = json.loads(meta_path.read_text())
    meta["verdicts"][0]["reason"] = "Edited by hand."
    meta_path.write_text(json.dumps(meta))
    drift = project.doit("verify", env=offline)
    text = drift.stdout + drift.stderr
    assert drift.returncode != 0, text
    assert f"the judge's verdict on {QUESTION!r} differs from the committed record" in text, text
    assert "Traceback" not in text
    assert calls(project) == []


@pytest.mark.slow
def test_review_shows_the_verdicts_of_a_staged_fixture(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    env = scripted(
        tmp_path, {QUESTION: [verdict("yes", "It greets.")], "[fixture notes/judged]": [note(GOOD)]}
    )
    project.doit("fixtures:notes/judged", "review=1", env=env, check=True)
    shown = project.doit("review", check=True).stdout
    assert f"judge: {QUESTION} — yes: It greets. [hotdata-fake:script]" in shown, shown
    listed = json.loads(project.doit("review", "--json", check=True).stdout)
    assert listed[0]["verdicts"][0]["answer"] == "yes"


@pytest.mark.slow
def test_judge_questions_and_model_are_fingerprinted_only_when_set(tmp_path: Path) -> None:
    project = make_project(tmp_path, judge=())
    script = {OTHER: [verdict("yes", "Plain words.")], "[fixture notes/judged]": [note(GOOD)], **the_others()}
    env = scripted(tmp_path, script)
    project.doit("fixtures", env=env, check=True)
    assert all("judge" not in record(project, n)["fingerprint"] for n in ("notes/judged", "notes/welcome"))
    assert "verdicts" not in record(project, "notes/welcome")
    assert {row["state"] for row in project.status(env=env).values()} == {"fresh"}
    pyproject = project.path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + f'\n[tool.hotdata.judge]\nquestions = ["{OTHER}"]\n')
    reasons = {row["reason"] for row in project.status(env=env).values()}
    assert reasons == {"judge questions changed"}  # every fixture: the table applies to all
    project.doit("fixtures", env=env, check=True)
    assert {row["state"] for row in project.status(env=env).values()} == {"fresh"}
    assert [v["question"] for v in record(project, "agents/crisis")["verdicts"]] == [OTHER]
    pyproject.write_text(pyproject.read_text() + 'model = "hotdata-fake"\n')
    reasons = {row["reason"] for row in project.status(env=env).values()}
    assert reasons == {"judge model changed (hotdata-fake:script -> hotdata-fake)"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("table", "line"),
    [
        ('questions = [""]', "[tool.hotdata] judge.questions in"),
        ('questions = "Is it good?"', "[tool.hotdata] judge.questions in"),
        ('questions = ["Is it?", "Is it?"]', "the same question is asked twice; ask each once"),
        ('model = " "', "the judge model is blank; name a model"),
        ('questoins = ["Is it?"]', "unknown key 'questoins' in [tool.hotdata.judge]"),
    ],
)
def test_a_bad_judge_table_is_refused_in_one_line(tmp_path: Path, table: str, line: str) -> None:
    project = Project.create(tmp_path)
    pyproject = project.path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + f"\n[tool.hotdata.judge]\n{table}\n")
    proc = project.doit("status")
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert any(line in out and "pyproject.toml" in out for out in text.splitlines()), text
    assert "Traceback" not in text
    assert calls(project) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("judge", "line"),
    [
        ("'Is it good?'", "fixture 'notes/judged': judge= must be a list of str, not str"),
        ("[42]", "fixture 'notes/judged': judge[0] must be a str, not int"),
        ("['  ']", "fixture 'notes/judged': judge[0]='  ' is blank"),
        ("['Is it?', 'Is it?']", "fixture 'notes/judged': judge= asks the same question twice"),
    ],
)
def test_a_bad_judge_argument_is_refused_in_one_line(tmp_path: Path, judge: str, line: str) -> None:
    project = make_project(tmp_path)
    project.path("gens/judged.py").write_text(JUDGED.format(judge=judge))
    proc = project.doit("fixtures")
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert any(line in out for out in text.splitlines()), text
    assert "gens/judged.py, line " in text, text
    assert "Traceback" not in text
    assert not project.path("fixtures/notes/judged.json").exists()


@pytest.mark.slow
def test_the_embedded_model_is_never_the_judge_by_default(tmp_path: Path) -> None:
    """bench/bench_judge.py: the embedded model judges no better than chance, so questions
    that would fall to it are refused in one line until a judge model is named."""
    project = make_project(tmp_path)
    env = {"HOTDATA_MODEL": "hotdata-local"}
    proc = project.doit("status", env=env)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    lines = [line for line in text.splitlines() if "judges no better than chance" in line]
    assert lines and "[tool.hotdata.judge] model = " in lines[0], text
    assert "Traceback" not in text
    pyproject = project.path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + '\n[tool.hotdata.judge]\nmodel = "hotdata-fake"\n')
    rows = project.status(env=env)
    assert rows["notes/judged"]["state"] == "missing"
    assert calls(project) == []


def test_a_verdict_is_read_from_the_judges_answer_and_a_no_names_question_reason_and_field() -> None:
    from hotdata.make.generate import parse_verdict, refusal

    found = parse_verdict(
        '```json\n{"answer": "No", "field": "/body", "reason": " Says  bye. "}\n```', QUESTION, "m"
    )
    assert found is not None and (found.answer, found.field, found.reason, found.model) == (
        "no",
        "/body",
        "Says bye.",
        "m",
    )
    assert refusal(found) == f"judge: {QUESTION} — no: Says bye. (field /body)"
    assert parse_verdict('{"answer": "maybe", "field": "", "reason": ""}', QUESTION, "m") is None
    assert parse_verdict("Yes, it does.", QUESTION, "m") is None


def test_the_labelled_set_is_large_balanced_and_from_several_domains() -> None:
    from bench.bench_judge import items, needed_for_chance, scores

    rows = items()
    assert len(rows) >= 30
    assert len({r["domain"] for r in rows}) >= 5
    assert {r["expected"] for r in rows} == {"yes", "no"}
    catalog = {"agent", "thought", "garden", "polynomial"}
    assert not any(word in r["domain"] for r in rows for word in catalog)
    always_yes = scores(rows, ["yes"] * len(rows))
    assert always_yes["accuracy"] == always_yes["chance"]  # a judge that always agrees is chance
    assert always_yes["right"] < always_yes["needed"]
    assert needed_for_chance(42) == 27
