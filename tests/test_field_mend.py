"""A breaking schema change (#25): what the committed data fails at is asked again alone, what the
schema no longer has is dropped, and the rest is kept byte for byte.

Real doit on a temp project, real HTTP to the fake server. A tightened ``max_length`` the data
exceeds, or a changed type, asks one request a failing JSON pointer (the fixture's recorded answer
replayed around it); a removed field is dropped with no call (also when the model forbids extra
keys); a renamed field is the new field asked alone and the old one dropped. ``doit verify``
rebuilds each from the recorded answers with no call.
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
from test_field_change import BOARDS, FieldWatcher
from test_schema_change import CARDS, SHAPES

from hotdata.make.plan import FieldAsk, FieldFill, plan_mend

TITLE = '    title: str = Field(description="A short title.")\n'
CARDS_ONLY = ("cards/0", "cards/1")


@pytest.fixture
def watcher() -> Iterator[FieldWatcher]:
    with FieldWatcher(seed=11) as srv:
        yield srv


@pytest.fixture
def cards(tmp_path: Path, watcher: FieldWatcher) -> tuple[Project, dict[str, str]]:
    files = {"gens/shapes.py": SHAPES, "gens/cards.py": CARDS, "gens/boards.py": BOARDS}
    proj, env = fake_gpt_project(tmp_path, watcher, files)
    watcher.bodies.clear()
    return proj, env


def data(proj: Project, name: str) -> bytes:
    return proj.path(f"fixtures/{name}.json").read_bytes()


def asked_pointers(watcher: FieldWatcher) -> list[str]:
    """The pointer each request since the last ``bodies.clear()`` asked alone, in order."""
    found = [
        re.findall(r"Write only the new value of (/[\w/]+)", json.dumps(b["messages"]))
        for b in watcher.bodies
    ]
    assert all(len(f) == 1 for f in found), found  # every request asked for one field alone
    return [f[0] for f in found]


def titles(proj: Project) -> dict[str, dict[str, Any]]:
    return {n: json.loads(data(proj, n)) for n in CARDS_ONLY}


def tighten_title(proj: Project, limit: int) -> None:
    proj.edit(
        "gens/shapes.py", TITLE, f'    title: str = Field(max_length={limit}, description="A short title.")\n'
    )


def change(limit: int) -> str:
    return f"schema: `title` maxLength none → {limit}"


def asked(why: str) -> str:
    return f" (breaking); /title no longer valid (at /title: {why}): asked alone, the rest kept — 1 call"


@pytest.mark.slow
def test_a_tightened_max_length_asks_only_the_values_that_exceed_it(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = titles(proj)
    short, long = sorted(CARDS_ONLY, key=lambda n: len(before[n]["title"]))
    limit = len(before[short]["title"]) + 3  # the short title well within it, the long one over it
    assert len(before[long]["title"]) > limit
    tighten_title(proj, limit)
    over = change(limit) + asked(f"String should have at most {limit} characters")
    kept = f"{change(limit)}; data still valid — record updated, no call"
    assert stale_reasons(proj, env) == {long: over, short: kept}
    shown = proj.doit("status", env=env, check=True).stdout  # and the change summed up
    assert (
        f"{change(limit)}: 2 fixture(s) — 1 no longer valid: asked field by field (1 call), 1 kept, no call\n"
    ) in shown
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "; 1 model call(s)" in dry
    assert completions(watcher) == 0
    proc = proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 1 and asked_pointers(watcher) == ["/title"]  # the long title alone
    prompt = json.dumps(watcher.bodies[0]["messages"])
    assert f"String should have at most {limit} characters" in prompt  # why it is asked again
    assert watcher.bodies[0]["response_format"]["json_schema"]["schema"]["maxLength"] == limit
    assert f"{long} generated, /title asked alone, the rest kept (" in proc.stdout
    after = titles(proj)
    assert after[short] == before[short] and data(proj, short).endswith(b"\n")
    assert len(after[long]["title"]) <= limit and after[long]["body"] == before[long]["body"]
    record = read_record(proj, long)
    assert record["reason"] == over and record["kept_through"] == [over]
    # field-level provenance: the pointer, and the recorded answer that wrote it
    (repair,) = record["repairs"]
    assert repair["pointer"] == "/title" and repair["answer"] in record["answers"]
    key = repair["answer"]
    stored = json.loads(proj.path(f"fixtures/.answers/{key[:2]}/{key}.json").read_text())
    assert json.loads(stored["answer"]["text"]) == after[long]["title"]
    assert "Write only the new value of /title" in stored["request"]["prompt"]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_value_now_exactly_at_a_tightened_max_length_is_asked_as_the_gates_would_refuse_it(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """A multi-word text ending mid-word exactly at maxLength reads as cut off to the truncation
    gate: once the planner kept it as valid and `doit verify` then asked for a repair."""
    proj, env = cards
    before = titles(proj)
    short, long = sorted(CARDS_ONLY, key=lambda n: len(before[n]["title"]))
    limit = len(before[short]["title"])
    assert before[short]["title"][-1].isalnum() and " " in before[short]["title"]
    tighten_title(proj, limit)
    reasons = stale_reasons(proj, env)
    assert reasons[short] == change(limit) + asked("the truncated gate refuses it under the new schema")
    assert reasons[long] == change(limit) + asked(f"String should have at most {limit} characters")
    proc = proj.doit("fixtures", env=env, check=True)
    firsts = {}  # the first request of each fixture: its title alone, and why
    for body in watcher.bodies:
        text = json.dumps(body["messages"])
        firsts.setdefault(re.findall(r"\(card (\d)\)", text)[0], text)
    assert set(firsts) == {"0", "1"} and completions(watcher) >= 2
    for name in CARDS_ONLY:
        assert "Write only the new value of /title" in firsts[name[-1]]
    assert "is cut at the schema's maxLength" in firsts[short[-1]]
    after = titles(proj)
    for name in CARDS_ONLY:  # kept around the title, unless the title's own answer was refused too
        if f"{name} generated, /title asked alone, the rest kept (" in proc.stdout:
            assert after[name]["body"] == before[name]["body"]
        else:
            assert f"{name} generated, /title asked alone was refused, rebuilt whole" in proc.stdout
        assert len(after[name]["title"]) <= limit
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_changed_type_asks_the_field_alone(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = {n: json.loads(data(proj, n)) for n in CARDS_ONLY}
    proj.edit("gens/shapes.py", TITLE, '    title: int = Field(description="A short title.")\n')
    reason = stale_reasons(proj, env)["cards/0"]
    assert reason.startswith("schema: `title` type ")
    assert reason.endswith(
        "(breaking); /title no longer valid (at /title: Input should be a valid integer, unable to parse "
        "string as an integer): asked alone, the rest kept — 1 call"
    ), reason
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2 and asked_pointers(watcher) == ["/title", "/title"]
    for name, was in before.items():
        now = json.loads(data(proj, name))
        assert isinstance(now["title"], int) and now["body"] == was["body"]
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_removed_field_is_dropped_with_no_call(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = {n: data(proj, n) for n in CARDS_ONLY}
    old = read_record(proj, "cards/0")
    proj.edit("gens/shapes.py", TITLE, "")
    reason = (
        "schema: field `title` removed; `title` no longer required (breaking); "
        "/title dropped (no longer in the schema), the rest kept — no call"
    )
    assert stale_reasons(proj, env) == {"cards/0": reason, "cards/1": reason}
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "; 0 model call(s), 0 tokens" in dry
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 0
    for name, was in before.items():
        loaded = json.loads(was)
        del loaded["title"]
        assert json.loads(data(proj, name)) == loaded
        assert data(proj, name) == was.replace(
            b'  "title": ' + json.dumps(json.loads(was)["title"]).encode() + b"\n", b""
        ).replace(b",\n}", b"\n}")
    new = read_record(proj, "cards/0")
    assert new["answers"] == old["answers"] and new["generated_at"] == old["generated_at"]
    assert new["kept_through"] == [reason]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_removed_field_is_dropped_when_the_model_forbids_extra_keys(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    proj.edit(
        "gens/shapes.py",
        "from pydantic import BaseModel, Field\n",
        "from pydantic import BaseModel, ConfigDict, Field\n",
    )
    proj.edit(
        "gens/shapes.py",
        "class Card(BaseModel):\n",
        "class Card(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n",
    )
    proj.doit("fixtures", "force=1", env=env, check=True)  # built under `extra='forbid'`
    completions(watcher)
    before = json.loads(data(proj, "cards/0"))
    proj.edit("gens/shapes.py", TITLE, "")
    reason = stale_reasons(proj, env)["cards/0"]
    assert reason.endswith("/title dropped (no longer in the schema), the rest kept — no call"), reason
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 0
    assert json.loads(data(proj, "cards/0")) == {"body": before["body"]}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_renamed_field_is_asked_alone_and_the_old_one_dropped(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = {n: json.loads(data(proj, n)) for n in CARDS_ONLY}
    proj.edit("gens/shapes.py", TITLE, '    heading: str = Field(description="A short title.")\n')
    reason = stale_reasons(proj, env)["cards/0"]
    assert "field `title` removed" in reason and "field `heading` added" in reason, reason
    assert reason.endswith("(breaking); /heading asked alone, the rest kept — 1 call"), reason
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == 2 and asked_pointers(watcher) == ["/heading", "/heading"]
    for body in watcher.bodies:  # the old title is in the answer so far: the model may carry it over
        assert "title" in json.dumps(body["messages"])
    for name, was in before.items():
        now = json.loads(data(proj, name))
        assert set(now) == {"heading", "body"} and now["body"] == was["body"]
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_an_item_that_exceeds_a_tightened_limit_is_asked_alone(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    before = json.loads(data(proj, "boards/one"))
    sizes = [len(item["label"]) for item in before["items"]]
    limit = min(sizes) - 1  # both over it (one exactly at it would be refused by a gate, asked later)
    over = [f"/items/{i}/label" for i, size in enumerate(sizes) if size > limit]
    proj.edit("gens/boards.py", "    label: str\n", f"    label: str = Field(max_length={limit})\n")
    reason = stale_reasons(proj, env)["boards/one"]
    assert f"{', '.join(over)} no longer valid (at {over[0]}: String should have at most {limit}" in reason, (
        reason
    )
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == len(over) and asked_pointers(watcher) == over
    after = json.loads(data(proj, "boards/one"))
    assert after["name"] == before["name"]
    for i, item in enumerate(after["items"]):
        assert len(item["label"]) <= limit
        assert (item == before["items"][i]) is (f"/items/{i}/label" not in over)
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_breaking_change_to_a_schema_the_model_is_asked_under_is_still_a_rebuild(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    proj, env = cards
    proj.edit("gens/shapes.py", "max_length=300", "max_length=200")
    reason = stale_reasons(proj, env)["memos/one"]
    assert reason == (
        "schema Draft: `text` maxLength 300 → 200, a constraint on what the model is asked (breaking)"
    ), reason
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) >= 1
    assert all("Write only the new value" not in json.dumps(b["messages"]) for b in watcher.bodies)


def _adapter(source: str) -> Any:
    from pydantic import BaseModel, ConfigDict, Field

    from hotdata._schema import SchemaAdapter

    scope: dict[str, Any] = {"BaseModel": BaseModel, "ConfigDict": ConfigDict, "Field": Field}
    exec(source, scope)
    return SchemaAdapter(scope["Card"])


def test_plan_mend_says_what_each_kind_of_failure_becomes() -> None:
    short = _adapter("class Card(BaseModel):\n    title: str = Field(max_length=3)\n    body: str\n")
    asked = plan_mend(short, b'{"body": "b", "title": "long"}')
    assert isinstance(asked, FieldAsk) and asked.pointers == ("/title",) and asked.dropped == ()
    assert plan_mend(short, b'{"body": "b", "title": "ok"}') is None  # meets it: kept as it is
    body_only = _adapter("class Card(BaseModel):\n    body: str\n")
    dropped = plan_mend(body_only, b'{"body": "b", "title": "t"}')
    assert isinstance(dropped, FieldFill) and dropped.dropped == ("/title",) and dropped.pointers == ()
    forbids = _adapter(
        "class Card(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n    body: str\n"
    )
    dropped = plan_mend(forbids, b'{"body": "b", "title": "t"}')
    assert isinstance(dropped, FieldFill) and dropped.dropped == ("/title",)
    with_default = _adapter("class Card(BaseModel):\n    body: str\n    tags: list[str] = []\n")
    both = plan_mend(with_default, b'{"body": "b", "title": "t"}')
    assert isinstance(both, FieldFill) and both.pointers == ("/tags",) and both.dropped == ("/title",)
    assert (
        both.words()
        == "/tags filled from the schema's default, /title dropped (no longer in the schema), the rest kept — no call"
    )
    too_many = plan_mend(
        _adapter("class Card(BaseModel):\n    items: list[int]\n"),
        json.dumps({"items": list("abcdefghij")}).encode(),
    )
    assert too_many == "10 fields to ask alone (more than 8: one whole answer is cheaper)"
    whole = plan_mend(_adapter("class Card(BaseModel):\n    body: str\n"), b"[1]")
    assert isinstance(whole, str) and "as a whole" in whole
    leaked = _adapter("class Card(BaseModel):\n    body: str\n    key: str = 'sk-abc'\n")
    refused = plan_mend(leaked, b'{"body": "b", "title": "t"}', secrets=("sk-abc",))
    assert isinstance(refused, str) and "secret" in refused and "sk-abc" not in refused


def test_status_sums_up_each_schema_change() -> None:
    from hotdata.make.commands._schema_summary import schema_change_lines

    tight = "schema: `s` maxLength 300 → 200"
    rows = [
        {"state": "stale", "reason": f"{tight}; data still valid — record updated, no call"},
        {
            "state": "stale",
            "reason": f"{tight} (breaking); /s no longer valid (at /s: x): asked alone, the rest kept — 1 call",
        },
        {
            "state": "stale",
            "reason": f"{tight} (breaking); /a, /b no longer valid (at /a: x): asked alone, the rest kept — 2 calls",
        },
        {
            "state": "stale",
            "reason": f"{tight} (breaking); 9 fields to ask alone (more than 8: one whole answer is cheaper): rebuilt",
        },
        {"state": "fresh", "reason": "up to date"},
        {"state": "stale", "reason": "generator card changed"},
        {
            "state": "stale",
            "reason": "schema: field `m` added; `m` now required (additive); /m asked alone, the rest kept — 1 call",
        },
    ]
    assert schema_change_lines(rows) == [
        f"{tight}: 4 fixture(s) — 2 no longer valid: asked field by field (3 calls), 1 kept, no call, 1 rebuilt whole",
        "schema: field `m` added; `m` now required: 1 fixture(s) — 1 with new fields: asked field by field (1 call)",
    ]
