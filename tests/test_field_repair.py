"""Field-scoped repair: a value refused at a few fields is asked again there, the rest kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from hotdata._schema import SchemaAdapter
from hotdata.make import FixtureSpec, HotDataConfig
from hotdata.make.generate import AnswerSource, Asker, Budget, Tally
from hotdata.make.generate._json_answers import schema_for_model
from hotdata.make.generate._repair import MAX_FIELDS, field_schema, refused_fields, splice, unwrap
from hotdata.make.generate._write import generate_with_prose, prose_fields
from hotdata.make.models import ModelCapabilities, ModelReply, ModelRequest
from hotdata.make.plan import Catalog, InputResolver, Planner
from hotdata.make.quality import QualityProblem

GENERATOR = """
from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture


class Review(BaseModel):
    stars: int = Field(ge=1, le=5)
    text: str


class Listing(BaseModel):
    title: str
    description: str
    reviews: list[Review]


@fixture("shop/kettle", schema=Listing)
async def kettle(ctx: GenerationContext) -> Listing:
    return await ctx.generate("Write a product listing for a stovetop kettle, with two reviews.")
"""

LISTING = {
    "title": "Enamel stovetop kettle",
    "description": "A two-litre enamel kettle that whistles when the water boils and suits every hob.",
    "reviews": [
        {"stars": 5, "text": "It boils fast on our gas hob and the whistle is loud enough to hear upstairs."},
        {"stars": 2, "text": "The handle gets hot, and after a month the enamel near the"},
    ],
}
MENDED = "The handle gets hot, and after a month the enamel near the spout chipped."


def _project(
    tmp_path: Path, script: dict[str, list[Any]], repair: str | None = None
) -> tuple[Project, dict[str, str]]:
    project = Project.create(tmp_path)
    project.path("gens/shop.py").write_text(GENERATOR)
    if repair is not None:
        pyproject = project.path("pyproject.toml")
        pyproject.write_text(pyproject.read_text() + f'\n[tool.hotdata.retries]\nrepair = "{repair}"\n')
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return project, {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(path)}


def _prompts(project: Project) -> list[str]:
    lines = project.log.read_text().splitlines() if project.log.exists() else []
    return [json.loads(line)["prompt"] for line in lines]


@pytest.mark.slow
def test_a_field_refused_by_the_gates_is_asked_again_alone_and_the_rest_is_kept(tmp_path: Path) -> None:
    # the first key that a prompt contains answers it: repair prompts name their field
    script = {"/reviews/1/text is to be written again": [json.dumps(MENDED)], "kettle": [json.dumps(LISTING)]}
    project, env = _project(tmp_path, script)
    project.doit("fixtures:shop/kettle", env=env, check=True)
    built = json.loads(project.path("fixtures/shop/kettle.json").read_text())
    assert built == {**LISTING, "reviews": [LISTING["reviews"][0], {"stars": 2, "text": MENDED}]}
    first, second = _prompts(project)
    assert "is to be written again" not in first
    # the rest of the value is shown, the refused text is not (it could be copied back)
    assert second.startswith(first) and LISTING["reviews"][0]["text"] in second
    assert LISTING["reviews"][1]["text"] not in second
    assert "stops mid-sentence" in second  # a model that reads feedback is told what was wrong
    record = json.loads(project.path("fixtures/shop/kettle.meta.json").read_text())
    assert "/reviews/1/text" in record["failed_attempts"][0]["reasons"][0]
    (repair,) = record["repairs"]
    assert repair["pointer"] == "/reviews/1/text" and repair["attempt"] == 2
    assert repair["output_tokens"] < repair["whole_output_tokens"]
    # the field's answer is recorded with the rest: a rebuild replays both, asking nothing
    before = len(_prompts(project))
    project.doit("fixtures:shop/kettle", "force=1", env=env, check=True)
    assert len(_prompts(project)) == before
    assert json.loads(project.path("fixtures/shop/kettle.json").read_text()) == built


@pytest.mark.slow
def test_repair_whole_asks_the_whole_value_again(tmp_path: Path) -> None:
    fixed = {**LISTING, "reviews": [LISTING["reviews"][0], {"stars": 2, "text": MENDED}]}
    project, env = _project(tmp_path, {"kettle": [json.dumps(LISTING), json.dumps(fixed)]}, repair="whole")
    project.doit("fixtures:shop/kettle", env=env, check=True)
    assert json.loads(project.path("fixtures/shop/kettle.json").read_text()) == fixed
    assert all("is to be written again" not in prompt for prompt in _prompts(project))
    assert "repairs" not in json.loads(project.path("fixtures/shop/kettle.meta.json").read_text())


@pytest.mark.slow
def test_a_field_answer_that_never_fits_fails_in_one_line_naming_the_field(tmp_path: Path) -> None:
    script = {"is to be written again": [json.dumps({"stars": "many"})], "kettle": [json.dumps(LISTING)]}
    project, env = _project(tmp_path, script)
    proc = project.doit("fixtures:shop/kettle", env=env)
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if "FAILED shop/kettle" in line]
    assert "ctx.generate at" in line and "/reviews/1/text" in line
    assert not project.path("fixtures/shop/kettle.json").exists()


def test_refused_fields_keep_the_outermost_pointer_and_give_up_on_the_whole_or_too_many() -> None:
    problems = [
        QualityProblem("/reviews/1", "repeated", "/reviews/1 repeats /reviews/0"),
        QualityProblem("/reviews/1/text", "truncated", "/reviews/1/text stops mid-sentence"),
        QualityProblem("/title", "meta", "/title talks about the task"),
    ]
    assert refused_fields(problems) == {
        "/reviews/1": ["/reviews/1 repeats /reviews/0", "/reviews/1/text stops mid-sentence"],
        "/title": ["/title talks about the task"],
    }
    assert refused_fields([*problems, QualityProblem("", "mine", "the whole value")]) is None
    many = [QualityProblem(f"/items/{i}", "meta", "x") for i in range(MAX_FIELDS + 1)]
    assert refused_fields(many) is None


def test_a_field_is_asked_under_its_own_schema_and_spliced_back() -> None:
    schema = {
        "type": "object",
        "properties": {"reviews": {"type": "array", "items": {"$ref": "#/$defs/Review"}}},
        "$defs": {"Review": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 400}}}},
    }
    assert field_schema(schema, "/reviews/1/text") == {
        "type": "string",
        "maxLength": 400,
        "$defs": schema["$defs"],
    }
    assert field_schema(schema, "/nowhere") is None
    data = {"reviews": [{"text": "a"}, {"text": "b"}]}
    assert splice(data, "/reviews/1/text", "c") == {"reviews": [{"text": "a"}, {"text": "c"}]}
    assert data["reviews"][1]["text"] == "b"  # a copy: the refused value is kept until accepted


def test_a_wrapped_field_answer_is_unwrapped() -> None:
    text = {"type": "string"}
    assert unwrap({"text": "fine"}, "/reviews/1/text", text) == "fine"
    assert unwrap({"reviews": [{}, {"text": "fine"}]}, "/reviews/1/text", text) == "fine"
    assert unwrap("fine", "/reviews/1/text", text) == "fine"
    review = {"type": "object", "properties": {"text": text}}
    assert unwrap({"text": "fine"}, "/reviews/1", review) == {"text": "fine"}


class SmallModelDouble:
    """A test double of a small model that writes prose apart and decodes structure under a
    grammar: its prose depends on the request's seed, so a field written again differs."""

    capabilities = ModelCapabilities(
        supports_schema=True, copies_feedback=True, reads_no_schema_text=True, writes_prose_apart=True
    )

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        if request.json_schema is not None:  # the structure: prose fields are a fixed "-"
            return ModelReply(json.dumps({"stars": 4, "headline": "-", "text": "-"}), 10, 12, "stop")
        seed = request.options.get("seed")
        if "headline" in request.prompt:
            return ModelReply("Sturdy kettle that whistles loudly and boils water fast.", 10, 12, "stop")
        word = "cracked" if seed == 7 else "held up"  # the first draw is the one the check refuses
        return ModelReply(
            f"After a month of daily use the enamel near the spout {word} well.", 10, 15, "stop"
        )


def test_a_small_model_writes_only_the_refused_prose_field_again() -> None:
    from pydantic import BaseModel, Field

    from hotdata.make.quality import QualityProblem as Problem

    class Review(BaseModel):
        stars: int = Field(ge=1, le=5)
        headline: str = Field(max_length=120)
        text: str = Field(max_length=300)

    def no_cracks(data: Any, context: Any) -> list[Problem]:
        return [Problem("/text", "no_cracks", "/text says it cracked")] if "cracked" in data["text"] else []

    async def generator(ctx: Any) -> Review:
        return await ctx.generate("Write a review of a stovetop kettle.")

    spec = FixtureSpec(
        "shop/review", generator, Review, model="m", model_options={"seed": 7}, quality=no_cracks
    )
    planner = Planner(InputResolver(HotDataConfig(root=Path("."))), catalog=Catalog([spec]))
    plan = planner.plan(spec, planner.status(spec))
    client = SmallModelDouble()
    tally = Tally()
    asker = Asker(plan, AnswerSource(plan, client, Budget(), tally), tally)

    adapter = SchemaAdapter(Review)
    fields = prose_fields(schema_for_model(adapter.json_schema() or {}))
    value = asyncio.run(
        generate_with_prose(asker, "Write a review of a stovetop kettle.", adapter, fields, None)
    )
    assert value.text.endswith("held up well.") and value.stars == 4
    structure = [r for r in client.requests if r.json_schema is not None]
    headlines = [r for r in client.requests if r.json_schema is None and "headline" in r.prompt]
    texts = [r for r in client.requests if r.json_schema is None and "headline" not in r.prompt]
    # the structure and the headline were accepted once and kept; only the text was written again
    assert (len(structure), len(headlines), len(texts)) == (1, 1, 2)
    assert texts[0].options["seed"] != texts[1].options["seed"]
    (repair,) = tally.repairs
    assert repair.pointer == "/text" and repair.output_tokens == 15
    assert repair.whole_output_tokens == 12 + 12 + 15


def test_a_fixture_without_a_seed_gets_one_on_a_re_ask_only() -> None:
    from hotdata.make.generate import RequestBuilder

    async def generator(ctx: Any) -> Any:
        return None

    spec = FixtureSpec("shop/unseeded", generator, dict, model="m")
    planner = Planner(InputResolver(HotDataConfig(root=Path("."))), catalog=Catalog([spec]))
    builder = RequestBuilder(planner.plan(spec, planner.status(spec)).inputs, frozenset({"seed"}))
    # the first sample is asked as it always was (answers recorded before keep their keys) ...
    assert "seed" not in builder.sample_options(0, 1) and "seed" not in builder.sample_options(0, 1, part=2)
    # ... and a re-ask draws another sample instead of the same one again
    assert [builder.sample_options(r, a)["seed"] for r, a in ((0, 2), (0, 3), (1, 1))] == [1, 2, 1000]
    unknown = RequestBuilder(planner.plan(spec, planner.status(spec)).inputs)  # options not known
    assert "seed" not in unknown.sample_options(0, 2)
