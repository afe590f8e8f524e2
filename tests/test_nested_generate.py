"""Issue 23, part 7: `ctx.generate` of a nested object with a small grammar-decoding model.

A model that decodes under a grammar without reading the schema's text (the embedded model's
capabilities, declared here by the scripted fake `hotdata-fake:script-small`) is asked item by
item: each object's structure under the grammar (prose fields left out of its schema), a list
of objects one item at a time with the items so far, each prose leaf written apart; the
value is assembled, validated against the whole schema and gated. A model that reads a JSON
Schema keeps the one request. Real `doit` subprocesses on a temp project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

pytestmark = pytest.mark.slow

LISTINGS = """
from typing import Literal

from hotdata.make import GenerationContext, fixture
from pydantic import BaseModel, Field


class Review(BaseModel):
    author: str = Field(max_length=40)
    stars: int = Field(ge=1, le=5)
    verdict: Literal["keep", "return"]
    text: str = Field(max_length=300)


class Listing(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{2}-[0-9]{3}$")
    price_cents: int = Field(ge=0)
    title: str = Field(max_length=80)
    reviews: list[Review] = Field(min_length=2, max_length=2)
    highlights: list[str] = Field(min_length=2, max_length=2)


@fixture("listings/kettle", schema=Listing)
async def listing(ctx: GenerationContext) -> Listing:
    value: Listing = await ctx.generate("[listing] A product listing for an electric kettle.", Listing)
    return value
"""
FIRST = "It boils a full jug in three minutes and the lid opens with one press of the handle."
SECOND = "The handle got hot after a week of use, so I sent the kettle back for a refund."
TITLE = "Quiet steel kettle with automatic shut-off"
HIGHLIGHTS = [
    "The steel body stays cool on the outside while the water boils.",
    "A blue light around the base shows when the kettle is heating.",
]
# Each answer goes to the first key its prompt contains, in this order.
SCRIPT: dict[str, list[Any]] = {
    "Give the sku, price cents": ['{"sku": "KT-101", "price_cents": 3499}'],
    "This is review 1 of 2": ['{"author": "Dana Whitfield", "stars": 5, "verdict": "keep"}'],
    # the first answer names review 1's author again: resampled, so the items differ
    "This is review 2 of 2": [
        '{"author": "Dana Whitfield", "stars": 2, "verdict": "return"}',
        '{"author": "Lee Park", "stars": 2, "verdict": "return"}',
    ],
    "Write the text of review 1 of 2": [FIRST],
    # the first answer repeats review 1: refused as the same text, and drawn again
    "Write the text of review 2 of 2": [FIRST, SECOND],
    "Write the title": [TITLE],
    "Write highlight 1 of 2": [HIGHLIGHTS[0]],
    "Write highlight 2 of 2": [HIGHLIGHTS[1]],
}
EXPECTED = {
    "sku": "KT-101",
    "price_cents": 3499,
    "title": TITLE,
    "reviews": [
        {"author": "Dana Whitfield", "stars": 5, "verdict": "keep", "text": FIRST},
        {"author": "Lee Park", "stars": 2, "verdict": "return", "text": SECOND},
    ],
    "highlights": HIGHLIGHTS,
}


def scripted(tmp_path: Path, model: str, script: dict[str, list[Any]]) -> dict[str, str]:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return {"HOTDATA_MODEL": model, "HOTDATA_FAKE_SCRIPT": str(path)}


def logged(project: Project) -> list[dict[str, Any]]:
    if not project.log.exists():
        return []
    return [json.loads(line) for line in project.log.read_text().splitlines()]


def key_of(prompt: str, script: dict[str, list[Any]]) -> str:
    return next(k for k in script if k in prompt)


def test_a_small_model_is_asked_item_by_item_and_the_value_is_assembled(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/listings.py").write_text(LISTINGS)
    env = scripted(tmp_path, "hotdata-fake:script-small", SCRIPT)
    proc = project.doit("fixtures:listings/kettle", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(project.path("fixtures/listings/kettle.json").read_text())
    assert data == EXPECTED

    calls = logged(project)
    assert [key_of(c["prompt"], SCRIPT) for c in calls] == [
        "Give the sku, price cents",
        "This is review 1 of 2",
        "Write the text of review 1 of 2",
        "This is review 2 of 2",
        "This is review 2 of 2",
        "Write the text of review 2 of 2",
        "Write the text of review 2 of 2",
        "Write the title",
        "Write highlight 1 of 2",
        "Write highlight 2 of 2",
    ]
    by_key = {key_of(c["prompt"], SCRIPT): c for c in calls}
    # structure under the grammar: only the structure fields, prose left out of the schema
    assert set(by_key["Give the sku, price cents"]["schema"]["properties"]) == {"sku", "price_cents"}
    second = by_key["This is review 2 of 2"]
    assert set(second["schema"]["properties"]) == {"author", "stars", "verdict"}
    assert "pattern" in second["schema"]["properties"]["author"]  # a label is asked in words
    assert "This is review 2 of 2 (1 is Dana Whitfield)." in second["prompt"]  # the items so far
    assert "- stars: >= 1; <= 5" in second["prompt"]  # the fields described in words
    # prose written apart, as text (no schema), with the item's structure as context
    text = by_key["Write the text of review 2 of 2"]
    assert text["schema"] is None
    assert (
        text["prompt"].startswith("Context:\n")
        and "author: Lee Park; stars: 2; verdict: return" in text["prompt"]
    )
    assert all(c["prompt"].count("[listing] A product listing") == 1 for c in calls)


def test_a_nested_value_that_fails_validation_is_asked_again_with_new_samples(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/listings.py").write_text(LISTINGS)
    # the first top structure breaks the sku's pattern: the whole value is refused, naming the field
    script = {
        **SCRIPT,
        "Give the sku, price cents": ['{"sku": "kettle", "price_cents": 3499}', json.dumps(EXPECTED)],
    }
    env = scripted(tmp_path, "hotdata-fake:script-small", script)
    proc = project.doit("fixtures:listings/kettle", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(project.path("fixtures/listings/kettle.json").read_text()) == EXPECTED
    record = json.loads(project.path("fixtures/listings/kettle.meta.json").read_text())
    refused = json.dumps(record["failed_attempts"])
    assert "sku" in refused and "pattern" in refused
    calls = logged(project)
    structures = [c for c in calls if key_of(c["prompt"], script) == "Give the sku, price cents"]
    assert len(structures) == 2


def test_a_model_that_reads_the_schema_keeps_one_request(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/listings.py").write_text(LISTINGS)
    env = scripted(tmp_path, "hotdata-fake:script", {"[listing]": [json.dumps(EXPECTED)]})
    proc = project.doit("fixtures:listings/kettle", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(project.path("fixtures/listings/kettle.json").read_text()) == EXPECTED
    calls = logged(project)
    assert len(calls) == 1
    assert set(calls[0]["schema"]["properties"]) == set(EXPECTED)
