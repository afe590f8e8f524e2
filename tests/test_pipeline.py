"""`doit fixtures` / `validate` / `status` / `generate` through real doit subprocesses."""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doit_project import Project, git

pytestmark = pytest.mark.slow

ALL = ["agents/crisis", "agents/deliberating", "notes/welcome"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    assert proj.calls() == ALL
    return proj


def test_fresh_clone_makes_zero_model_calls(project: Project, tmp_path: Path) -> None:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "fixtures")
    clone_dir = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project.root), str(clone_dir))
    clone = Project(clone_dir, project.log)
    assert not (clone_dir / ".doit.db").exists()
    proc = clone.doit("fixtures", env={"HOTDATA_MODEL": "hotdata-fake", "HOTDATA_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 generated, 3 up to date" in proc.stdout
    assert clone.calls() == []
    assert {row["state"] for row in clone.status().values()} == {"fresh"}
    assert clone.doit("validate").returncode == 0


def test_doit_list_shows_every_fixture(project: Project) -> None:
    out = project.doit("list", check=True).stdout
    assert "fixtures:agents/crisis" in out
    assert "Agent from agent(archetype=crisis, entropy=0.9)" in out
    assert "fixtures:notes/welcome" in out


def test_second_run_is_a_no_op_and_doit_db_is_json(project: Project) -> None:
    proc = project.doit("fixtures", check=True)
    assert project.calls() == []
    assert "3 up to date" in proc.stdout
    json.loads((project.root / ".doit.db").read_text())  # the explicit json backend


def test_editing_an_included_template_rebuilds_exactly_its_users(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "vividly and concretely")
    status = project.status()
    assert status["agents/crisis"]["reason"] == "template partials/voice.j2 changed"
    assert status["notes/welcome"]["state"] == "fresh"
    project.doit("fixtures", check=True)
    assert project.calls() == ["agents/crisis", "agents/deliberating"]
    project.edit("templates/note.j2", "welcome", "warm welcome")
    project.doit("fixtures", check=True)
    assert project.calls() == ["notes/welcome"]


def test_editing_one_generator_leaves_its_sibling_alone(project: Project) -> None:
    before = json.loads(project.path("fixtures/agents/crisis.json").read_text())
    project.edit(  # a comment changes nothing
        "gens/agents.py",
        "    return await ctx.generate(ctx.render())\n",
        "    return await ctx.generate(ctx.render())  # v2\n",
    )
    assert project.status()["agents/crisis"]["state"] == "fresh"
    project.edit(  # post-processing code: the first occurrence is the agent generator
        "gens/agents.py",
        "    return await ctx.generate(ctx.render())  # v2\n",
        "    agent = await ctx.generate(ctx.render())\n    return agent.model_copy(update={'name': agent.name.upper()})\n",
    )
    status = project.status()
    assert status["agents/crisis"]["reason"] == "generator agent changed"
    assert status["notes/welcome"]["state"] == "fresh"
    proc = project.doit("fixtures", check=True)
    assert project.calls() == []  # the same requests: answered from fixtures/.answers
    assert "2 generated" in proc.stdout and "2 replayed" in proc.stdout
    after = json.loads(project.path("fixtures/agents/crisis.json").read_text())
    assert after == {**before, "name": before["name"].upper()}


def test_schema_field_rebuilds_but_module_docstring_does_not(project: Project) -> None:
    project.edit(
        "gens/schemas.py",
        "from typing import Literal",
        '"""Schemas (a docstring edit)."""\n\nfrom typing import Literal',
    )
    project.doit("fixtures", check=True)
    assert project.calls() == []
    project.edit(
        "gens/schemas.py",
        "    summary: str = Field(max_length=200)\n",
        "    summary: str = Field(max_length=200)\n    mood: str = 'calm'\n",
    )
    reason = project.status()["agents/crisis"]["reason"]
    assert reason.startswith("schema: field `mood` added (additive); /mood filled from the schema's default")
    project.doit("fixtures", check=True)
    assert project.calls() == []  # filled from the default, no call
    # a field without a default is asked of the model, alone
    project.edit("gens/schemas.py", "    mood: str = 'calm'\n", "    mood: str = 'calm'\n    tone: str\n")
    assert project.status()["agents/crisis"]["reason"].endswith("/tone asked alone, the rest kept — 1 call")
    project.doit("fixtures", check=True)
    prompts = [json.loads(line)["prompt"] for line in project.log.read_text().splitlines()]
    assert all("Write only the new value of /tone" in p for p in prompts)
    assert project.calls() == ["agents/crisis", "agents/deliberating"]  # one call each: the field


def test_a_helper_schema_asked_of_the_model_is_an_input(project: Project) -> None:
    project.edit(
        "gens/schemas.py",
        "    text: str = Field(max_length=300)\n",
        "    text: str = Field(max_length=280)\n",
    )
    assert project.status()["notes/welcome"]["reason"] == (
        "schema Draft: `text` maxLength 300 → 280, a constraint on what the model is asked (breaking)"
    )
    project.doit("fixtures", check=True)
    assert project.calls() == ["notes/welcome"]


def test_variant_parameters_and_model_options_are_inputs(project: Project) -> None:
    project.edit("gens/agents.py", '"entropy": 0.9', '"entropy": 0.95')
    assert project.status()["agents/crisis"]["reason"] == "variant parameters changed"
    project.doit("fixtures", check=True)
    assert project.calls() == ["agents/crisis"]
    project.edit("pyproject.toml", "concurrency = 4", "concurrency = 4\nmodel_options = {temperature = 0.2}")
    assert project.status()["notes/welcome"]["reason"] == "model options changed"


def test_ttl_expiry_counts_from_the_record(project: Project) -> None:
    project.edit("pyproject.toml", "concurrency = 4", 'concurrency = 4\nttl = "7d"')
    assert project.status()["notes/welcome"]["state"] == "fresh"
    meta = project.path("fixtures/notes/welcome.meta.json")
    record = json.loads(meta.read_text())
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    record["generated_at"] = ten_days_ago.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    meta.write_text(json.dumps(record))
    row = project.status()["notes/welcome"]
    assert row["state"] == "stale"
    assert row["reason"] == "ttl 7d expired 3d ago"
    project.doit("fixtures", check=True)
    assert project.calls() == ["notes/welcome"]


def test_hand_edit_is_kept_and_reported_until_forced(project: Project) -> None:
    data = project.path("fixtures/notes/welcome.json")
    curated = json.loads(data.read_text())
    curated["body"] = "Hand-curated body"
    data.write_text(json.dumps(curated, indent=2) + "\n")
    project.edit("templates/note.j2", "welcome", "warm welcome")  # would make it stale
    row = project.status()["notes/welcome"]
    assert row["state"] == "edited"
    proc = project.doit("fixtures", check=True)
    assert "notes/welcome: edited by hand, kept" in proc.stdout
    assert "1 edited and kept" in proc.stdout
    assert project.calls() == []
    assert json.loads(data.read_text())["body"] == "Hand-curated body"
    project.doit("fixtures:notes/welcome", "force=1", check=True)
    assert project.calls() == ["notes/welcome"]
    assert project.status()["notes/welcome"]["state"] == "fresh"


def test_one_failing_fixture_does_not_stop_the_others(project: Project) -> None:
    project.path("gens/broken.py").write_text(
        "from hotdata.make import fixture\n"
        "from .schemas import Note\n\n\n"
        '@fixture("notes/broken", schema=Note)\n'
        "async def broken(ctx):\n"
        '    raise RuntimeError("the archive is unreachable")\n'
    )
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert project.calls() == ["notes/welcome"]
    tail = proc.stdout[proc.stdout.index("fixture(s) failed:") :]
    assert (
        "notes/broken: fixture notes/broken: generator broken raised RuntimeError: the archive is unreachable"
        in tail
    )
    assert "broken.py, line 7" in tail
    assert not project.path("fixtures/notes/broken.json").exists()


def test_template_syntax_error_and_undefined_variable(project: Project) -> None:
    project.path("templates/note.j2").write_text("Hello\n{% if %}\n")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "note.j2, line 2" in proc.stdout
    project.path("templates/note.j2").write_text("Hello {{ nobody }}\n")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "'nobody' is undefined" in proc.stdout
    assert project.calls() == []
    assert project.status()["notes/welcome"]["reason"].startswith(
        "template note.j2 changed; the last build failed"
    )


def test_broken_generator_module_and_unknown_config_key(project: Project) -> None:
    project.path("gens/bad.py").write_text("import nothing_here_at_all\n")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "generator module 'gens.bad' failed to import" in proc.stdout + proc.stderr
    project.path("gens/bad.py").unlink()
    project.edit("pyproject.toml", "concurrency = 4", "concurrency = 4\nconcurrancy = 2")
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "unknown key 'concurrancy' in [tool.hotdata]" in proc.stdout + proc.stderr


def test_validate_lists_every_invalid_or_missing_fixture(project: Project) -> None:
    project.path("fixtures/agents/crisis.json").write_text('{"name": "x", "phase": "dancing"}')
    project.path("fixtures/notes/welcome.json").unlink()
    proc = project.doit("validate")
    assert proc.returncode != 0
    out = proc.stdout
    assert "crisis.json: at phase:" in out
    assert "crisis.json: at summary: Field required" in out
    assert "welcome.json: missing" in out
    assert project.calls() == []


def test_status_json_and_offline(project: Project) -> None:
    project.path("fixtures/notes/welcome.json").unlink()
    rows = project.status()
    assert rows["notes/welcome"]["state"] == "missing"
    assert {"name", "state", "reason"} <= set(rows["agents/crisis"])
    proc = project.doit("fixtures", env={"HOTDATA_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stdout  # offline, its recorded answer rebuilds it
    assert "1 replayed" in proc.stdout
    project.edit("templates/note.j2", "welcome", "warm welcome")  # a new request: offline cannot answer
    proc = project.doit("fixtures", env={"HOTDATA_OFFLINE": "1"})
    assert proc.returncode != 0
    assert "model calls are disabled (HOTDATA_OFFLINE=1" in proc.stdout
    assert project.calls() == []


def test_budget_stops_further_calls(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures", env={"HOTDATA_MAX_CALLS": "1", "HOTDATA_CONCURRENCY": "1"})
    assert len(project.calls()) == 1
    assert "2 stopped by budget" in proc.stdout
    assert sum(row["state"] == "stale" for row in project.status().values()) == 2


def test_validation_errors_are_fed_back(project: Project) -> None:
    proc = project.doit(
        "fixtures", "force=1", env={"HOTDATA_MODEL": "hotdata-fake:invalid-first"}, check=True
    )
    assert project.calls() == sorted(ALL * 2)
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["attempts"] == 2
    assert record["usage"]["calls"] == 2
    per_attempt = record["usage_per_attempt"]
    assert [u["calls"] for u in per_attempt] == [1, 1]
    assert sum(u["output_tokens"] for u in per_attempt) == record["usage"]["output_tokens"]
    assert "3 generated" in proc.stdout


def test_generate_ad_hoc(project: Project) -> None:
    proc = project.doit(
        "generate",
        "--schema",
        "gens.schemas:Note",
        "--prompt",
        "[fixture {{ fixture_name }}] A note about {{ topic }}",
        "--name",
        "adhoc/rain",
        "--param",
        "topic:rain",
        check=True,
    )
    assert "generated adhoc/rain" in proc.stdout
    assert project.calls() == ["adhoc/rain"]
    record = json.loads(project.path("fixtures/adhoc/rain.meta.json").read_text())
    assert record["fingerprint"]["params"] == {"topic": "rain"}
    proc = project.doit("generate", "--schema", "gens.schemas:Nope", "--prompt", "x", "--name", "adhoc/x")
    assert proc.returncode != 0
    assert "has no 'Nope'" in proc.stdout + proc.stderr


def test_two_concurrent_runs_are_safe(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    project.edit("templates/note.j2", "welcome", "warm welcome")
    env = {"HOTDATA_FAKE_LATENCY": "0.5"}
    first = project.popen("fixtures", env=env)
    project.wait_for_call()  # the first run holds the lock and is generating
    second = project.popen("fixtures", env=env)
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    assert project.calls() == ALL  # each fixture generated once, by one of the runs
    generated = 0
    for out in (out1, out2):
        match = re.search(r"hotdata: (\d+) generated, (\d+) up to date", out)
        assert match, out
        assert int(match[1]) + int(match[2]) == 3, out  # every fixture counted once per run
        generated += int(match[1])
    assert generated == 3
    assert project.doit("validate").returncode == 0
    assert {row["state"] for row in project.status().values()} == {"fresh"}


def test_catalog_document_is_written_and_kept_current(project: Project) -> None:
    readme = project.path("fixtures/README.md")
    text = readme.read_text()
    for name in ALL:
        assert f"| `{name}` |" in text
    assert "`gens.agents:welcome_note` | hotdata-fake |" in text
    before = readme.stat().st_mtime_ns
    project.doit("fixtures", check=True)
    assert readme.stat().st_mtime_ns == before  # unchanged content is not rewritten
    project.edit("pyproject.toml", "concurrency = 4", 'concurrency = 4\nttl = "30d"')
    project.doit("fixtures", check=True)
    assert "| 30d | fresh |" in readme.read_text()
    assert project.calls() == []


def test_ctrl_c_stops_at_once_without_a_traceback(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "boldly")
    proc = project.popen("fixtures", env={"HOTDATA_FAKE_LATENCY": "5"})
    project.wait_for_call()  # in the middle of a model call
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert "hotdata: interrupted" in out
    assert "Traceback" not in err
    for data in project.path("fixtures").rglob("*.json"):
        json.loads(data.read_text())  # every data file complete
    assert project.status()["agents/crisis"]["state"] == "stale"
    project.doit("fixtures", check=True)
    assert {row["state"] for row in project.status().values()} == {"fresh"}
