"""Quality gates in the build: bad answers are refused and re-asked, nothing bad is written,
committed data is checked too. Real doit subprocesses, scripted fake model answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from hotdata.make import FixtureSpec, HotDataConfig
from hotdata.make.generate import AnswerSource, Asker, Budget, Tally
from hotdata.make.models import ModelCapabilities, ModelReply, ModelRequest
from hotdata.make.plan import Catalog, InputResolver, Planner

pytestmark = pytest.mark.slow

GOOD = "Welcome aboard! Your desk is by the north window, and the coffee machine answers to Mabel."
TRUNCATED = "Welcome aboard, we are glad to have you join the team on the"
REPEATED = "We are glad you are here. We are glad you are here. We are glad you are here."
FEEDBACK = (
    "at (root): Invalid JSON: control character (\\u0000-\\u001f) found while parsing a string at line 2"
)
DEGENERATE = "Welcome 400,371,887,149620:2011,2010,2011,2013,2014 to the team"


def note(text: str) -> str:
    return json.dumps({"text": text})


def scripted(project: Project, tmp_path: Path, script: dict[str, list[Any]]) -> dict[str, str]:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(path)}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def record(project: Project, name: str) -> dict[str, Any]:
    return json.loads(project.path(f"fixtures/{name}.meta.json").read_text())


def test_a_refused_answer_is_asked_again_and_the_reasons_are_recorded(
    project: Project, tmp_path: Path
) -> None:
    env = scripted(project, tmp_path, {"[fixture notes/welcome]": [note(TRUNCATED), note(GOOD)]})
    proc = project.doit("fixtures:notes/welcome", "force=1", env=env, check=True)
    assert project.calls() == ["notes/welcome"] * 2
    assert json.loads(project.path("fixtures/notes/welcome.json").read_text())["body"] == GOOD
    failed = record(project, "notes/welcome")["failed_attempts"]
    assert failed[0]["attempt"] == 1
    assert "/text stops mid-sentence: ends on 'the'" in failed[0]["reasons"][0]
    assert record(project, "notes/welcome")["quality"].startswith("sha256:")
    assert "1 generated" in proc.stdout


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (note(TRUNCATED), "stops mid-sentence"),
        (note(REPEATED), "repeats the sentence"),
        (note(FEEDBACK), "hotdata's own"),
        (note(DEGENERATE), "digits"),
        (
            {"text": '{"text": "Welcome aboard, this note goes on and on and', "finish_reason": "length"},
            "token limit",
        ),
    ],
    ids=["truncated", "repeated", "echo", "degenerate", "cut-off"],
)
def test_bad_answers_are_never_written(project: Project, tmp_path: Path, answer: Any, reason: str) -> None:
    before = project.path("fixtures/notes/welcome.json").read_bytes()
    env = scripted(project, tmp_path, {"[fixture notes/welcome]": [answer]})
    proc = project.doit("fixtures:notes/welcome", "force=1", env=env)
    assert proc.returncode != 0
    assert project.calls() == ["notes/welcome"] * 3  # retries.validation_attempts
    assert project.path("fixtures/notes/welcome.json").read_bytes() == before
    tail = proc.stdout[proc.stdout.index("fixture(s) failed:") :]
    assert "no acceptable answer for Draft in 3 attempt(s)" in tail
    assert reason in tail
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_cut_off_answer_names_where_it_stopped(project: Project, tmp_path: Path) -> None:
    cut = {"text": '{"text": "Welcome aboard, this note goes on and on and', "finish_reason": "length"}
    env = scripted(project, tmp_path, {"[fixture notes/welcome]": [cut, note(GOOD)]})
    project.doit("fixtures:notes/welcome", "force=1", env=env, check=True)
    reasons = record(project, "notes/welcome")["failed_attempts"][0]["reasons"]
    assert reasons[0].startswith("the model stopped at its token limit (")
    assert "in /text; the answer is cut off" in reasons[0]


def test_a_variant_that_repeats_its_sibling_is_asked_again(project: Project, tmp_path: Path) -> None:
    same = json.dumps(
        {
            "name": "Ada",
            "phase": "crisis",
            "summary": "Ada stares at the reactor readout and counts the minutes until the coolant pumps restart.",
        }
    )
    other = json.dumps(
        {
            "name": "Bo",
            "phase": "deliberating",
            "summary": "Bo weighs two flight plans over cold tea while the hangar lights flicker.",
        }
    )
    env = scripted(
        project, tmp_path, {"archetype is crisis": [same], "archetype is deliberating": [same, other]}
    )
    project.doit("fixtures:agents/crisis", "force=1", env=env, check=True)
    project.calls()
    project.doit("fixtures:agents/deliberating", "force=1", env=env, check=True)
    assert project.calls() == ["agents/deliberating"] * 2
    data = json.loads(project.path("fixtures/agents/deliberating.json").read_text())
    assert data["name"] == "Bo"
    reasons = record(project, "agents/deliberating")["failed_attempts"][0]["reasons"]
    assert "says the same as agents/crisis" in reasons[0]


def commit_as_an_older_hotdata_would(project: Project, name: str, field: str, text: str) -> None:
    """Data the gates refuse, with a record that matches it but was never gated."""
    data_path = project.path(f"fixtures/{name}.json")
    data = json.loads(data_path.read_text())
    data[field] = text
    raw = (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    data_path.write_bytes(raw)
    meta = record(project, name)
    meta.update(data_sha256=hashlib.sha256(raw).hexdigest(), quality=None)
    project.path(f"fixtures/{name}.meta.json").write_text(json.dumps(meta))


def test_committed_data_is_gated_by_validate_status_and_fixtures(project: Project) -> None:
    commit_as_an_older_hotdata_would(project, "notes/welcome", "body", TRUNCATED)
    proc = project.doit("validate")
    assert proc.returncode != 0
    assert "welcome.json: /body stops mid-sentence: ends on 'the'" in proc.stdout
    row = project.status()["notes/welcome"]
    assert (row["state"], row["reason"][:30]) == ("stale", "quality: /body stops mid-sente")
    proc = project.doit("fixtures", check=True)
    assert "1 generated" in proc.stdout and "1 replayed" in proc.stdout  # its recorded answer was good
    assert project.calls() == []
    assert project.doit("validate").returncode == 0


def test_a_hand_edit_that_fails_a_gate_is_reported_never_overwritten(project: Project) -> None:
    data_path = project.path("fixtures/notes/welcome.json")
    data = json.loads(data_path.read_text())
    data["body"] = REPEATED
    data_path.write_text(json.dumps(data))
    proc = project.doit("validate")
    assert proc.returncode != 0
    assert "/body repeats the sentence" in proc.stdout
    assert project.status()["notes/welcome"]["state"] == "edited"
    project.doit("fixtures", check=True)
    assert project.calls() == []
    assert json.loads(data_path.read_text())["body"] == REPEATED


USER_CHECKS = """
def no_exclamations(data, context):
    text = data.get("body") or data.get("text") or ""
    return ["the note shouts"] if "!" in text else []
"""


def test_user_checks_from_the_project_table_and_from_quality_on_the_fixture(
    project: Project, tmp_path: Path
) -> None:
    project.path("gens/checks.py").write_text(USER_CHECKS)
    with project.path("pyproject.toml").open("a") as fh:
        fh.write('\n[tool.hotdata.quality]\ncustom = ["gens.checks:no_exclamations"]\n')
    calm = "Welcome aboard. Your desk is by the north window, and the coffee machine answers to Mabel."
    env = scripted(project, tmp_path, {"[fixture notes/welcome]": [note(GOOD), note(calm)]})
    project.doit("fixtures:notes/welcome", "force=1", env=env, check=True)
    assert project.calls() == ["notes/welcome"] * 2
    assert "the note shouts" in record(project, "notes/welcome")["failed_attempts"][0]["reasons"][0]

    project.edit("pyproject.toml", 'custom = ["gens.checks:no_exclamations"]', "custom = []")
    project.edit(
        "gens/agents.py",
        '@fixture("notes/welcome", schema=Note, template="note.j2")',
        'from .checks import no_exclamations\n\n\n@fixture("notes/welcome", schema=Note, template="note.j2", quality=no_exclamations)',
    )
    project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
    assert project.calls() == ["notes/welcome"] * 2
    assert "the note shouts" in record(project, "notes/welcome")["failed_attempts"][0]["reasons"][0]


def test_a_bad_quality_setting_names_itself(project: Project) -> None:
    with project.path("pyproject.toml").open("a") as fh:
        fh.write("\n[tool.hotdata.quality]\nprose_min_word = 3\n")
    proc = project.doit("status")
    assert proc.returncode != 0
    assert "quality.prose_min_word" in proc.stdout + proc.stderr


class CopyingClient:
    """A test double of a model that copies feedback: it must be resampled, not told."""

    capabilities = ModelCapabilities(supports_schema=True, copies_feedback=True)

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        return ModelReply(self.answers[len(self.requests) - 1], 10, 10, "stop")


def test_a_model_that_copies_feedback_is_resampled_not_told(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from hotdata._schema import SchemaAdapter

    class Draft(BaseModel):
        text: str

    async def generator(ctx: Any) -> Draft:
        return Draft(text=GOOD)

    spec = FixtureSpec(
        "notes/welcome", generator, Draft, model="m", model_options={"seed": 7, "temperature": 0.8}
    )
    planner = Planner(InputResolver(HotDataConfig(root=tmp_path)), catalog=Catalog([spec]))
    plan = planner.plan(spec, planner.status(spec))
    client = CopyingClient([note(TRUNCATED), note(GOOD)])
    tally = Tally()
    asker = Asker(plan, AnswerSource(plan, client, Budget(), tally), tally)
    value = asyncio.run(asker.ask("Write a welcome note.", SchemaAdapter(Draft)))
    assert value.text == GOOD
    first, second = client.requests
    # the refused field is asked again alone (field-scoped repair), with no pasted errors for a
    # model that would copy them
    assert second.prompt.startswith(first.prompt) and "field /text is to be written again" in second.prompt
    assert "not accepted" not in second.prompt and "mid-sentence" not in second.prompt
    assert (first.options["seed"], second.options["seed"]) == (7, 8)
