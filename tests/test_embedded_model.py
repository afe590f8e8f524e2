"""The real embedded SmolLM2 model: deselect locally with `-m "not embedded"`; CI runs it."""

from __future__ import annotations

import json
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


def test_doit_fixtures_with_the_embedded_model(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    proc = project.doit("fixtures:notes/welcome", env={"HOTDATA_MODEL": "hotdata-local"}, check=True)
    assert "notes/welcome generated" in proc.stdout
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["model"] == "hotdata-local"
    assert record["usage"]["output_tokens"] > 0
    data = json.loads(project.path("fixtures/notes/welcome.json").read_text())
    assert set(data) == {"title", "body"}
