"""A new field (#25, additive): filled from the schema's default with no model call, or, required,
asked alone in one request.

Real doit on a temp project, real HTTP to the fake server. The committed data is kept byte for
byte but for the new field. A filled one's record is updated as for a change that does not
matter; an asked one is rebuilt from its recorded answer (asked under the schema before) and the
new field's answer. `doit verify` rebuilds either from the recorded answers with no call. A
required field inside array items is still a rebuild.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doit_project import (
    Project,
    completions,
    fake_gpt_project,
    read_record,
    stale_reasons,
    verify_asks_nothing,
)
from test_schema_change import CARDS, SHAPES

from hotdata.make.plan import diff_schemas, plan_fill
from hotdata.testing import FakeOpenAIServer

# the project of test_schema_change, and a board of nested items
BOARDS = """
from pydantic import BaseModel, Field

from hotdata.make import fixture


class Item(BaseModel):
    label: str


class Board(BaseModel):
    name: str
    items: list[Item] = Field(min_length=2, max_length=2)


@fixture("boards/one", schema=Board, template="note.j2")
async def board(ctx):
    return await ctx.generate(ctx.render() + " (board)")
"""

BODY = '    body: str = Field(max_length=2000, description="The card\'s text.")\n'
TAGS = "    tags: list[str] = []\n"
FILLED = (
    "schema: field `tags` added (additive); /tags filled from the schema's default, the rest kept — no call"
)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=11) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    return fake_gpt_project(
        tmp_path, server, {"gens/shapes.py": SHAPES, "gens/cards.py": CARDS, "gens/boards.py": BOARDS}
    )


def data(proj: Project, name: str) -> bytes:
    return proj.path(f"fixtures/{name}.json").read_bytes()


def add_tags(proj: Project) -> None:
    proj.edit("gens/shapes.py", BODY, BODY + TAGS)


@pytest.mark.slow
def test_a_field_with_a_default_is_filled_and_the_rest_kept_byte_for_byte(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = {n: data(proj, n) for n in ("cards/0", "cards/1")}
    old = read_record(proj, "cards/0")
    add_tags(proj)
    assert stale_reasons(proj, env) == {"cards/0": FILLED, "cards/1": FILLED}
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "2 stale: 0 to ask, 0 replay for free, 2 record(s) updated, data kept" in dry
    assert "; 0 model call(s), 0 tokens" in dry
    row = next(line for line in dry.splitlines() if "cards/0" in line)
    assert row.split()[1:4] == ["keep", "0", "call(s)"] and FILLED in row
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0
    assert "cards/0 record updated, /tags filled from the schema's default (" in proc.stdout
    assert (
        "0 generated, 2 record(s) updated (data kept; 2 with new fields filled from defaults)" in proc.stdout
    )
    for name, was in before.items():
        now = data(proj, name)
        assert now != was and now.replace(b'  "tags": [],\n', b"") == was  # only the new line
        assert json.loads(now)["tags"] == []
    new = read_record(proj, "cards/0")
    assert new["data_sha256"] != old["data_sha256"]
    assert "tags" in new["schemas"]["gens.shapes:Card"]["properties"]  # type: ignore[index]
    assert new["answers"] == old["answers"] and new["usage"] == old["usage"]
    assert new["generated_at"] == old["generated_at"]
    assert new["reason"] == FILLED and new["kept_through"] == [FILLED]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, server, 7)


@pytest.mark.slow
def test_a_field_added_to_a_nested_model_is_filled_in_every_item(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = json.loads(data(proj, "boards/one"))
    proj.edit("gens/boards.py", "    label: str\n", "    label: str\n    note: str = 'none'\n")
    reason = (
        "schema: field `Item.note` added (additive); /items/*/note filled from the schema's default, "
        "the rest kept — no call"
    )
    assert stale_reasons(proj, env) == {"boards/one": reason}
    proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0
    after = json.loads(data(proj, "boards/one"))
    assert after == {**before, "items": [{**item, "note": "none"} for item in before["items"]]}
    verify_asks_nothing(proj, env, server, 7)


@pytest.mark.slow
def test_under_review_the_filled_fixture_is_staged(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = data(proj, "cards/0")
    add_tags(proj)
    proc = proj.doit("fixtures", "review=1", env=env, check=True)
    assert completions(server) == 0
    assert "cards/0 record updated, /tags filled from the schema's default (staged for review)" in proc.stdout
    assert "2 fixture(s) pending review: doit review" in proc.stdout
    assert data(proj, "cards/0") == before  # the committed pair is untouched until accepted
    staged = proj.path("fixtures/cards/0.json.new").read_bytes()
    assert staged.replace(b'  "tags": [],\n', b"") == before
    proj.doit("accept", "--all", env=env, check=True)
    assert data(proj, "cards/0") == staged
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, server, 7)


MOOD = "    mood: str\n"
ASKED = (
    "schema: field `mood` added; `mood` now required (additive); /mood asked alone, the rest kept — 1 call"
)
ALONE = "Write only the new value of /mood"


class FieldWatcher(FakeOpenAIServer):
    """The fake server, keeping every chat body it answers; with ``refuse_alone``, a field asked
    alone gets an answer that is not JSON (a model that fails the one-field request)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bodies: list[dict[str, Any]] = []
        self.refuse_alone = False

    def answer(self, body: dict[str, Any]) -> str:
        self.bodies.append(body)
        if self.refuse_alone and ALONE in json.dumps(body):
            return "no JSON here"
        return super().answer(body)


@pytest.fixture
def watcher() -> Iterator[FieldWatcher]:
    with FieldWatcher(seed=11) as srv:
        yield srv


@pytest.fixture
def cards(tmp_path: Path, watcher: FieldWatcher) -> tuple[Project, dict[str, str]]:
    proj, env = fake_gpt_project(tmp_path, watcher, {"gens/shapes.py": SHAPES, "gens/cards.py": CARDS})
    watcher.bodies.clear()
    return proj, env


def without(raw: bytes, field: str) -> dict[str, Any]:
    loaded = json.loads(raw)
    del loaded[field]
    return loaded  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_required_field_is_asked_alone_and_the_rest_kept_byte_for_byte(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = {n: data(proj, n) for n in ("cards/0", "cards/1")}
    proj.edit("gens/shapes.py", BODY, BODY + MOOD)
    assert stale_reasons(proj, env) == {"cards/0": ASKED, "cards/1": ASKED}
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "2 stale: 2 to ask" in dry and "; 2 model call(s)" in dry
    row = next(line for line in dry.splitlines() if "cards/0" in line)
    assert row.split()[1:4] == ["rebuild", "1", "call(s)"] and ASKED in row
    assert completions(watcher) == 0
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2  # one a fixture: its field alone
    assert "cards/0 generated, /mood asked alone, the rest kept (" in proc.stdout
    for body in watcher.bodies:
        prompt = json.dumps(body["messages"])
        assert ALONE in prompt and '\\"mood\\": null' in prompt  # the committed answer, the field blank
        assert body["response_format"]["json_schema"]["schema"]["type"] == "string"  # the field's schema
    for name, was in before.items():
        now = data(proj, name)
        assert isinstance(json.loads(now)["mood"], str)
        assert now.replace(b'  "mood": ' + json.dumps(json.loads(now)["mood"]).encode() + b",\n", b"") == was
    record = read_record(proj, "cards/0")
    assert record["reason"] == ASKED and record["kept_through"] == [ASKED]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 6)


@pytest.mark.slow
def test_two_required_fields_are_two_requests_each_for_its_field(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = json.loads(data(proj, "cards/0"))
    proj.edit("gens/shapes.py", BODY, BODY + MOOD + "    tone: str\n")
    reason = stale_reasons(proj, env)["cards/0"]
    assert reason.endswith("(additive); /mood, /tone asked alone, the rest kept — 2 calls"), reason
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "; 4 model call(s)" in dry
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 4
    asked = sorted(
        re.findall(r"Write only the new value of (/\w+)", json.dumps(b["messages"]))[0]
        for b in watcher.bodies
    )
    assert asked == ["/mood", "/mood", "/tone", "/tone"]
    after = json.loads(data(proj, "cards/0"))
    assert {k: v for k, v in after.items() if k not in ("mood", "tone")} == before
    verify_asks_nothing(proj, env, watcher, 6)


@pytest.mark.slow
def test_a_second_required_field_later_asks_only_for_itself(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    proj.edit("gens/shapes.py", BODY, BODY + MOOD)
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2
    first = json.loads(data(proj, "cards/0"))
    watcher.bodies.clear()
    proj.edit("gens/shapes.py", MOOD, MOOD + "    tone: str\n")
    assert stale_reasons(proj, env)["cards/0"].endswith("/tone asked alone, the rest kept — 1 call")
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2, proc.stdout  # /mood's request replayed as it was made
    assert all("Write only the new value of /tone" in json.dumps(b["messages"]) for b in watcher.bodies)
    after = json.loads(data(proj, "cards/0"))
    assert {k: v for k, v in after.items() if k != "tone"} == first
    verify_asks_nothing(proj, env, watcher, 6)


@pytest.mark.slow
def test_under_review_the_asked_fixture_is_staged(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = data(proj, "cards/0")
    proj.edit("gens/shapes.py", BODY, BODY + MOOD)
    proc = proj.doit("fixtures", "review=1", env=env, check=True)
    assert completions(watcher) == 2
    assert "cards/0 staged for review, /mood asked alone, the rest kept (" in proc.stdout
    assert data(proj, "cards/0") == before  # the committed pair is untouched until accepted
    staged = proj.path("fixtures/cards/0.json.new").read_bytes()
    assert without(staged, "mood") == json.loads(before)
    proj.doit("accept", "--all", env=env, check=True)
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 6)


@pytest.mark.slow
def test_a_field_answer_that_fails_falls_back_to_a_whole_rebuild(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    proj.edit("gens/shapes.py", BODY, BODY + MOOD)
    watcher.refuse_alone = True
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 4  # a fixture: its field alone, refused, then the whole
    assert "cards/0 generated, /mood asked alone was refused, rebuilt whole (" in proc.stdout
    record = read_record(proj, "cards/0")
    assert record["reason"] == f"{ASKED}; /mood asked alone was refused, rebuilt whole"
    assert "is not JSON" in json.dumps(record["failed_attempts"])
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 6)


@pytest.mark.slow
def test_a_required_field_in_every_item_is_asked_item_by_item(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    proj.path("gens/boards.py").write_text(BOARDS)
    proj.doit("fixtures", env=env, check=True)  # the board built beside the cards
    completions(watcher)
    watcher.bodies.clear()
    before = json.loads(data(proj, "boards/one"))
    proj.edit("gens/boards.py", "    label: str\n", "    label: str\n    note: str\n")
    reason = (
        "schema: field `Item.note` added; `Item.note` now required (additive); "
        "/items/0/note, /items/1/note asked alone, the rest kept — 2 calls"
    )
    assert stale_reasons(proj, env)["boards/one"] == reason
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "; 2 model call(s)" in dry
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2
    asked = [
        re.findall(r"Write only the new value of (/[\w/]+)", json.dumps(b["messages"]))
        for b in watcher.bodies
    ]
    assert asked == [["/items/0/note"], ["/items/1/note"]]
    after = json.loads(data(proj, "boards/one"))
    assert after["name"] == before["name"]
    assert [item["label"] for item in after["items"]] == [item["label"] for item in before["items"]]
    assert all(isinstance(item["note"], str) for item in after["items"])
    assert read_record(proj, "boards/one")["kept_through"] == [reason]
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_default_factory_is_no_default_of_the_schema(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit("gens/shapes.py", BODY, BODY + "    tags: list[str] = Field(default_factory=list)\n")
    reason = "schema: field `tags` added (additive); /tags has no default in the schema: rebuilt"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}


@pytest.mark.parametrize(
    ("field", "why"),
    [
        (  # pydantic never checks a default: the schema is to blame, not the data
            "n: int = Field(default=-1, ge=0)",
            "the schema's default of /n does not meet the field's own constraints "
            "(at n: Input should be greater than or equal to 0): fix the default",
        ),
        (  # the schema says `Mood`, a fixture is written by field name (`mood`)
            'mood: str = Field("calm", alias="Mood")',
            "validating the data under the new schema changes more than the new fields (at /mood: added)",
        ),
    ],
    ids=["default-fails-its-constraint", "alias"],
)
@pytest.mark.slow
def test_a_new_field_that_cannot_be_filled_says_why(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer, field: str, why: str
) -> None:
    proj, env = project
    kept = data(proj, "cards/0")
    proj.edit("gens/shapes.py", BODY, f"{BODY}    {field}\n")
    added = field.split(":")[0] if "alias" not in field else "Mood"
    reason = f"schema: field `{added}` added (additive); {why}: rebuilt"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    assert data(proj, "cards/0") == kept


@pytest.mark.slow
def test_a_default_that_holds_a_secret_is_never_filled_in(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    key = "sk-fill-0123456789abcdef"
    proj, env = project[0], {**project[1], "FILL_API_KEY": key}
    proj.edit("gens/shapes.py", "from pydantic", "import os\n\nfrom pydantic")
    proj.edit("gens/shapes.py", BODY, BODY + '    token: str = os.environ.get("FILL_API_KEY", "")\n')
    reason = (
        "schema: field `token` added (additive); the schema's default of /token holds a secret value "
        "(not shown): a default must hold no key or token: rebuilt"
    )
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    proj.doit("fixtures", env=env)
    assert not [p for p in proj.path("fixtures").rglob("*") if p.is_file() and key in p.read_text()]


def test_a_field_of_a_model_that_holds_itself_is_not_filled() -> None:
    node = {"properties": {"kids": {"items": {"$ref": "#/$defs/Node"}, "type": "array"}}}
    old = {"$defs": {"Node": node}, "$ref": "#/$defs/Node"}
    tagged = {"properties": {**node["properties"], "tag": {"default": ""}}}
    new = {"$defs": {"Node": tagged}, "$ref": "#/$defs/Node"}
    assert (
        plan_fill(new, [c.at for c in diff_schemas(old, new).changes if c.at])
        == "`Node` holds itself: its depth is not known"
    )
