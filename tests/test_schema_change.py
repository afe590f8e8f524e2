"""Schema changes classified (#25 parts 1 and 4): real doit on a temp project, real HTTP to the fake server.

A change that does not matter (descriptions, titles, constraints the data still meets) keeps the
data and updates the record without a model call; anything else is rebuilt. A schema class is a
schema, not code: editing one never reads as "code changed".
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import (
    Project,
    completions,
    fake_gpt_project,
    read_record,
    stale_reasons,
    verify_asks_nothing,
)

from hotdata.make.plan import ChangeKind, diff_schemas
from hotdata.testing import FakeOpenAIServer

SHAPES = """
from pydantic import BaseModel, Field


class Card(BaseModel):
    title: str = Field(description="A short title.")
    body: str = Field(max_length=2000, description="The card's text.")


class Draft(BaseModel):
    text: str = Field(max_length=300, description="What the model writes.")


class Memo(BaseModel):
    text: str
"""

CARDS = """
from hotdata.make import fixture

from .shapes import Card, Draft, Memo


@fixture("cards/{i}", schema=Card, template="note.j2", variants=[{"i": 0}, {"i": 1}])
async def card(ctx, i):
    return await ctx.generate(ctx.render() + f" (card {i})")


@fixture("memos/one", schema=Memo, template="note.j2")
async def memo(ctx):
    draft = await ctx.generate(ctx.render() + " (memo)", Draft)
    return Memo(text=draft.text)
"""

KEPT = "data still valid — record updated, no call"

# The closure and generator hash of `memo` as fingerprint format 3 made them (schema classes in).
FORMAT_3 = """
import hashlib, json
from pathlib import Path
from hotdata.make.plan import code_closure
from gens.cards import memo
closure = code_closure(memo, Path.cwd(), schema_classes=True)
basis = json.dumps(closure, sort_keys=True).encode()
print(json.dumps([closure, "sha256:" + hashlib.sha256(basis).hexdigest()]))
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=11) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    return fake_gpt_project(tmp_path, server, {"gens/shapes.py": SHAPES, "gens/cards.py": CARDS})


def files(proj: Project, *names: str) -> dict[str, bytes]:
    return {n: proj.path(f"fixtures/{n}.json").read_bytes() for n in names}


def bodies(proj: Project) -> list[int]:
    return [len(json.loads(proj.path(f"fixtures/cards/{i}.json").read_text())["body"]) for i in (0, 1)]


@pytest.mark.slow
def test_a_description_change_updates_the_record_and_asks_nothing(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = files(proj, "cards/0", "cards/1")
    old = read_record(proj, "cards/0")
    proj.edit("gens/shapes.py", 'description="The card\'s text."', 'description="What the card says."')
    reason = f"schema: description of `body` changed; {KEPT}"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0
    assert "hotdata: 0 generated, 2 record(s) updated (data kept), 4 up to date" in proc.stdout
    assert "cards/0 record updated, data kept" in proc.stdout
    assert files(proj, "cards/0", "cards/1") == before  # byte for byte
    new = read_record(proj, "cards/0")
    assert new["schema_hash"] != old["schema_hash"]
    assert new["fingerprint"]["schema"] == new["schema_hash"]  # type: ignore[index]
    assert new["schemas"]["gens.shapes:Card"]["properties"]["body"]["description"] == "What the card says."  # type: ignore[index]
    assert new["answers"] == old["answers"] and new["generated_at"] == old["generated_at"]
    assert new["reason"] == reason and new["kept_through"] == [reason]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, server, 6)


@pytest.mark.slow
def test_a_tightened_max_length_the_data_meets_asks_nothing(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = files(proj, "cards/0", "cards/1")
    longest = max(bodies(proj)) + 1  # a text exactly at the limit reads as cut off: test_field_mend
    proj.edit("gens/shapes.py", "max_length=2000", f"max_length={longest}")
    reason = f"schema: `body` maxLength 2000 → {longest}; {KEPT}"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0
    assert files(proj, "cards/0", "cards/1") == before
    assert stale_reasons(proj, env) == {}


@pytest.mark.slow
def test_a_tightened_max_length_the_data_exceeds_asks_that_field_alone(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = {n: json.loads(raw) for n, raw in files(proj, "cards/0", "cards/1").items()}
    limit = min(bodies(proj)) - 1
    proj.edit("gens/shapes.py", "max_length=2000", f"max_length={limit}")
    reasons = stale_reasons(proj, env)
    assert set(reasons) == {"cards/0", "cards/1"}
    for reason in reasons.values():
        assert reason == (
            f"schema: `body` maxLength 2000 → {limit} (breaking); /body no longer valid (at /body: String "
            f"should have at most {limit} characters): asked alone, the rest kept — 1 call"
        )
    proj.doit("fixtures", env=env, check=True)
    assert completions(server) >= 2  # each body asked again alone (test_field_mend: the details)
    after = {n: json.loads(raw) for n, raw in files(proj, "cards/0", "cards/1").items()}
    assert all(after[n]["body"] != before[n]["body"] for n in after)
    assert max(bodies(proj)) <= limit


@pytest.mark.slow
def test_an_added_field_is_additive(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit("gens/shapes.py", "class Draft", "    tags: list[str] = []\n\n\nclass Draft")
    reason = "schema: field `tags` added (additive); /tags filled from the schema's default, the rest kept — no call"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    # a field added to a schema the model is asked under changes what it is asked: a rebuild
    proj.edit("gens/shapes.py", "class Memo", "    mood: str = 'calm'\n\n\nclass Memo")
    assert stale_reasons(proj, env)["memos/one"] == "schema Draft: field `mood` added (additive)"


@pytest.mark.slow
def test_a_schema_class_asked_through_ctx_generate_is_a_schema_change_not_code(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = files(proj, "memos/one")
    proj.edit("gens/shapes.py", 'description="What the model writes."', 'description="The memo."')
    assert stale_reasons(proj, env) == {"memos/one": f"schema Draft: description of `text` changed; {KEPT}"}
    proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0
    assert files(proj, "memos/one") == before
    copy = read_record(proj, "memos/one")["schemas"]["gens.shapes:Draft"]  # type: ignore[index]
    assert copy["properties"]["text"]["description"] == "The memo."
    # rebuilt from the answer asked under the Draft before, byte for byte
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert "(0 model calls)" in proc.stdout
    assert completions(server) == 0
    # a constraint on what the model is asked is asked again: its answers are not revalidated
    proj.edit("gens/shapes.py", "max_length=300", "max_length=299")
    assert stale_reasons(proj, env) == {
        "memos/one": "schema Draft: `text` maxLength 300 → 299, a constraint on what the model is asked (breaking)"
    }


VALIDATOR = """

    @field_validator("body")
    @classmethod
    def _kept(cls, value: str) -> str:
        return value.strip()
"""


@pytest.mark.slow
def test_a_validator_is_code_not_schema(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit(
        "gens/shapes.py",
        "from pydantic import BaseModel, Field",
        "from pydantic import BaseModel, Field, field_validator",
    )
    proj.edit(
        "gens/shapes.py",
        'description="The card\'s text.")\n',
        'description="The card\'s text.")\n' + VALIDATOR,
    )
    # it changes no JSON Schema, and the generator never names Card: the fixture's schema class is
    # followed for the code it holds beyond its fields
    reason = "the generator now uses Card in gens/shapes.py"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}


@pytest.mark.slow
def test_generator_code_changed_with_the_schema_is_a_rebuild(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit("gens/shapes.py", 'description="A short title."', 'description="A title."')
    proj.edit("gens/cards.py", 'f" (card {i})"', 'f" (card number {i})"')
    reason = "generator card changed; and schema: description of `title` changed"
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 2  # the code decides: rebuilt (its prompts changed: nothing to replay)
    assert "2 generated" in proc.stdout
    assert stale_reasons(proj, env) == {}


@pytest.mark.slow
def test_a_record_from_before_schema_classes_left_the_closure_stays_fresh(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    made = subprocess.run(
        [sys.executable, "-c", FORMAT_3], cwd=proj.root, capture_output=True, text=True, check=True
    )
    closure, generator = json.loads(made.stdout)
    assert {"gens/shapes.py:Draft", "gens/shapes.py:Memo"} <= set(closure)
    meta = proj.path("fixtures/memos/one.meta.json")  # as the hotdata before this change wrote it
    old = json.loads(meta.read_text())
    old["fingerprint"].update(format=3, code=closure, generator=generator)
    del old["schemas"]
    meta.write_text(json.dumps(old))
    assert stale_reasons(proj, env) == {}
    proj.edit("gens/cards.py", '" (memo)"', '" (a memo)"')
    assert stale_reasons(proj, env) == {"memos/one": "generator memo changed"}
    proj.edit("gens/cards.py", '" (a memo)"', '" (memo)"')
    # it keeps no copy of its schemas: its first schema change is a rebuild, as it was
    proj.edit("gens/shapes.py", 'description="What the model writes."', 'description="The memo."')
    assert stale_reasons(proj, env) == {"memos/one": "schema Draft changed"}
    proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 1
    new = read_record(proj, "memos/one")
    assert set(new["schemas"]) == {"gens.shapes:Draft", "gens.shapes:Memo"}  # type: ignore[call-overload]
    assert new["fingerprint"]["format"] == 4  # type: ignore[index]


@pytest.mark.slow
def test_code_and_schema_changed_together_rebuild_replaying_the_answers_that_match(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = json.loads(proj.path("fixtures/memos/one.json").read_text())
    proj.edit("gens/shapes.py", "class Memo(BaseModel):\n", 'class Memo(BaseModel):\n    """A memo."""\n\n')
    proj.edit("gens/cards.py", "Memo(text=draft.text)", "Memo(text=draft.text.upper())")
    reason = "generator memo changed; and schema: description of the schema changed"
    assert stale_reasons(proj, env) == {"memos/one": reason}
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(server) == 0  # the Draft asked of the model is unchanged: its answer is replayed
    assert "1 generated" in proc.stdout and "1 replayed" in proc.stdout
    after = json.loads(proj.path("fixtures/memos/one.json").read_text())
    assert after["text"] == before["text"].upper()


@pytest.mark.parametrize(
    ("old", "new", "kind", "words"),
    [
        (
            {"properties": {"a": {"type": "string"}}, "title": "X"},
            {"properties": {"a": {"type": "string"}}, "title": "Y"},
            ChangeKind.ANNOTATION,
            "title of the schema changed",
        ),
        (
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
            ChangeKind.BREAKING,
            '`a` type "string" → "integer"',
        ),
        (
            {"properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
            {"properties": {"a": {"type": "string"}}},
            ChangeKind.BREAKING,
            "field `b` removed",
        ),
        (
            {"$defs": {"C": {"properties": {"n": {"maximum": 9}}}}},
            {"$defs": {"C": {"properties": {"n": {"maximum": 5}}}}},
            ChangeKind.CONSTRAINT,
            "`C.n` maximum 9 → 5",
        ),
        (
            {"properties": {"description": {"type": "string"}}},
            {"properties": {"description": {"type": "string", "description": "d"}}},
            ChangeKind.ANNOTATION,
            "description of `description` changed",
        ),
    ],
    ids=["title", "type", "removed", "nested-constraint", "a-field-named-description"],
)
def test_diff_schemas_classifies_in_words(
    old: dict[str, object], new: dict[str, object], kind: ChangeKind, words: str
) -> None:
    diff = diff_schemas(old, new)
    assert diff.kind is kind
    assert diff.words() == words
