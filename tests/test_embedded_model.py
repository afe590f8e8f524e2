"""The real embedded SmolLM2 model: deselect locally with `-m "not embedded"`; CI runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import llm
import pytest
from doit_project import Project
from pydantic import BaseModel, Field

pytestmark = pytest.mark.embedded


class Mood(BaseModel):
    name: str = Field(max_length=30)
    phase: Literal["deliberating", "crisis", "resting"]
    summary: str = Field(max_length=160)


def test_local_model_decodes_under_the_schema() -> None:
    model = llm.get_model("hotdata-local")
    assert model.supports_schema
    response = model.prompt(
        "Describe an AI agent in crisis, in JSON.", schema=Mood.model_json_schema(), temperature=0.2, seed=7
    )
    mood = Mood.model_validate_json(response.text())
    assert mood.phase in ("deliberating", "crisis", "resting")
    usage = response.usage()
    assert usage.input and usage.output


def test_a_prompt_is_evaluated_from_the_kept_state_sharing_its_start() -> None:
    """Requests of several fixtures interleave; each is evaluated from the kept KV state of the
    earlier prompt it shares the longest start with, not from the system prompt on."""
    from hotdata.make.embedded._engine import LlamaEngine

    engine = LlamaEngine(n_ctx=1024)
    engine.warm_up()
    setting = "Mara runs a small bakery in a harbour town and opens before dawn every day. " * 3

    def ask(prompt: str) -> str:
        options = {"prefill": "Mara", "max_tokens": 12, "seed": 1}
        return str(engine.answer({"prompt": prompt, "options": options})["text"])

    ask(setting + "Describe her morning.")
    ask("A train leaves the station at noon; describe the platform.")  # another fixture's request
    before = engine.prefix_states.restored
    assert ask(setting + "Describe her evening.").startswith("Mara")
    assert engine.prefix_states.restored - before >= 40  # the setting was not evaluated again


def test_doit_fixtures_with_the_embedded_model(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    proc = project.doit("fixtures:notes/welcome", env={"HOTDATA_MODEL": "hotdata-local"}, check=True)
    assert "notes/welcome generated" in proc.stdout
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["model"] == "hotdata-local"
    assert record["usage"]["output_tokens"] > 0
    data = json.loads(project.path("fixtures/notes/welcome.json").read_text())
    assert set(data) == {"title", "body"}


def test_catalog_fixtures_built_by_the_embedded_model_pass_every_gate(tmp_path: Path) -> None:
    """Two of this repository's fixtures, asked of the model afresh (replay=off), through the gates."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    for name in ("pyproject.toml", "dodo.py"):
        shutil.copy2(root / name, tmp_path / name)
    shutil.copytree(
        root / "generators", tmp_path / "generators", ignore=shutil.ignore_patterns("__pycache__")
    )
    targets = ["fixtures:agent_snapshots/soul_in_crisis", "fixtures:thoughts_streams/cockpit_calm"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    build = subprocess.run(
        [sys.executable, "-m", "doit", *targets, "replay=off"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert "2 generated" in build.stdout
    validate = subprocess.run(
        [sys.executable, "-m", "doit", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    # the others were never built here (missing); the two built ones pass every gate
    problems = [
        line
        for line in validate.stdout.splitlines()
        if "agent_snapshots/soul_in_crisis" in line or "thoughts_streams/cockpit_calm" in line
    ]
    assert problems == [], validate.stdout
    data = json.loads((tmp_path / "fixtures/agent_snapshots/soul_in_crisis.json").read_text())
    assert data["summary"].endswith((".", "!", "?")) and len(data["summary"]) >= 40
