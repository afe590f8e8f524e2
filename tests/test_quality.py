"""Quality gates (hotdata.make.quality): junk seen in this repository's catalog is caught,
good data of every shape passes, thresholds and user checks are wired."""

from __future__ import annotations

import json
import random
import sys
import textwrap
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

from hotdata.make.quality import (
    FamilyProse,
    QualityConfigError,
    QualityContext,
    QualityProblem,
    QualitySettings,
    check_value,
    is_prose,
    iter_strings,
    load_user_checks,
    near_duplicates,
    schema_for_pointer,
    similarity,
    split_sentences,
    words,
)

DEFAULT = QualitySettings()
FEEDBACK = (
    "narrative: at (root): Invalid JSON: control character (\u0000-\u001f) found while "
    "parsing a string at line 2 column 0 ."
)
REPEATED_SENTENCE = "I would say that Ilex and Moss would have a strong argument in their favor."


def flagged(data, settings=DEFAULT, context=None):
    return {(p.pointer, p.check) for p in check_value(data, settings, context or QualityContext())}


# ---------------------------------------------------------------- junk from the catalog

BAD_CASES = [
    pytest.param({"narrative": FEEDBACK}, "/narrative", "echo", id="feedback-echo"),
    pytest.param(
        {"agents": [{"name": "Calder", "stance": "stances: at (root): Invalid JSON: list"}]},
        "/agents/0/stance",
        "echo",
        id="short-feedback-echo",
    ),
    pytest.param(
        {"narrative": f"They would say that Ilex has agreed. {REPEATED_SENTENCE} {REPEATED_SENTENCE}"},
        "/narrative",
        "repeated",
        id="repeated-sentence",
    ),
    pytest.param(
        {"agents": [{"name": n, "stance": REPEATED_SENTENCE} for n in ("Ilex", "Moss", "Juniper")]},
        "/agents/1/stance",
        "repeated",
        id="repeated-across-items",
    ),
    pytest.param(
        {"stance": "santos 400,371,887,149620:2011,2010,2011,2013,2014"},
        "/stance",
        "degenerate",
        id="digit-run",
    ),
    pytest.param(
        {
            "activity": "Corvid is acting and focused on the task at hand, taking a moment to breathe and enjoy a 2"
        },
        "/activity",
        "truncated",
        id="lone-digit",
    ),
    pytest.param(
        {"summary": "The T is facing a tough challenge, and a small victory is being lost to the T"},
        "/summary",
        "truncated",
        id="lone-letter",
    ),
    pytest.param({"description": "It is now in"}, "/description", "truncated", id="ends-on-preposition"),
    pytest.param(
        {"activity": "Kestrel is deliberating between two options while staring at a map of"},
        "/activity",
        "truncated",
        id="ends-on-of",
    ),
    pytest.param(
        {"text": "I am trying to save the world, and I need to make changes, but,"},
        "/text",
        "truncated",
        id="dangling-comma",
    ),
    pytest.param(
        {"transitions": [{"source": "weigh", "target": "commit", "trigger": "state ,"}]},
        "/transitions/0/trigger",
        "degenerate",
        id="stray-comma",
    ),
    pytest.param(
        {"summary": "2023-05-25. 2023-05-26. 2023-05-27. 2023-05-28. 2023-05-29."},
        "/summary",
        "degenerate",
        id="dates-as-sentences",
    ),
    pytest.param(
        {"summary": "Imposter 123 12.12.2023 2022-06-18. 2023-01-18. 2023-01-22. 2023-02-23. 2"},
        "/summary",
        "degenerate",
        id="numbers-with-a-word",
    ),
    pytest.param({"summary": "Lorem ipsum dolor sit amet"}, "/summary", "degenerate", id="lorem"),
    pytest.param({"summary": "This is a placeholder summary."}, "/summary", "degenerate", id="placeholder"),
    pytest.param({"description": "string"}, "/description", "degenerate", id="string-as-prose"),
    pytest.param({"bio": "example text"}, "/bio", "degenerate", id="example-text"),
    pytest.param(
        {"summary": 'The crew agreed on one thing: "we leave at dawn and never look'},
        "/summary",
        "truncated",
        id="unclosed-quote",
    ),
    pytest.param(
        {"summary": "Marlow checks the gauges (twice, as always, before the crew"},
        "/summary",
        "truncated",
        id="unclosed-bracket",
    ),
    pytest.param(
        {"summary": "The reactor hums along. Marlow trusts it more than the screen. Still he watches the"},
        "/summary",
        "truncated",
        id="ends-on-article",
    ),
    pytest.param(
        {"summary": "The reactor hums along. Marlow trusts it more than the screen. Still he keeps watch"},
        "/summary",
        "truncated",
        id="last-sentence-unfinished",
    ),
    pytest.param(
        {"text": "The ship drifts. The ship drifts on and on and on and on and on and on and on and on."},
        "/text",
        "repeated",
        id="word-loop",
    ),
    pytest.param(
        {"summary": 'The answer was {"type": "string", "minLength": 10} for the summary.'},
        "/summary",
        "echo",
        id="schema-text",
    ),
    pytest.param(
        {"summary": 'Fields: {"properties": {"name": {"title": "Name"}}}'},
        "/summary",
        "echo",
        id="schema-properties",
    ),
    pytest.param(
        {"summary": "The summary has minLength 10 and must be vivid."},
        "/summary",
        "echo",
        id="schema-keyword",
    ),
    pytest.param({"summary": "Hello {{ name }}, welcome aboard."}, "/summary", "echo", id="jinja-variable"),
    pytest.param(
        {"summary": "{% include 'partials/style.j2' %} Vesper waits."}, "/summary", "echo", id="jinja-tag"
    ),
    pytest.param({"log": ["ok", "bad \x00 byte in the middle"]}, "/log/1", "degenerate", id="control-char"),
]


@pytest.mark.parametrize(("data", "pointer", "check"), BAD_CASES)
def test_junk_is_flagged_at_its_pointer(data, pointer, check):
    problems = check_value(data, DEFAULT)
    assert (pointer, check) in {(p.pointer, p.check) for p in problems}, problems
    message = next(p.message for p in problems if (p.pointer, p.check) == (pointer, check))
    assert message.startswith(pointer)
    assert len(message) < 200


def test_messages_quote_a_short_excerpt():
    data = {"narrative": f"Ilex speaks first. {REPEATED_SENTENCE} {REPEATED_SENTENCE}"}
    [problem] = check_value(data, DEFAULT)
    assert problem.message == "/narrative repeats the sentence 'I would say that Ilex and Moss would ha…'"
    assert str(problem) == problem.message + " [repeated]"
    [problem] = check_value({"stance": "(\u0000-\u001f) " + FEEDBACK}, QualitySettings(checks=["echo"]))
    assert "'(\\u0000-\\u001f) narrative: at (root): I…'" in problem.message  # escaped, cut at 40


def test_four_of_five_identical_log_events_are_repeated_but_distinct_ones_are_not():
    same = "The operator restarted the telemetry relay after it stopped responding"
    events = [{"level": "info", "message": same} for _ in range(4)]
    events.append({"level": "warn", "message": "Disk usage at 91% on the archive volume"})
    problems = [p for p in check_value({"events": events}, DEFAULT) if p.check == "repeated"]
    assert [p.pointer for p in problems] == ["/events/1/message"]
    assert "/events/1/message, /events/2/message, /events/3/message say the same as" in problems[0].message
    # Nearly identical (one word changed) counts as the same.
    near = [{"message": same}, {"message": same.replace("operator", "engineer")}]
    assert ("/1/message", "repeated") in flagged(near)
    # One repeated line among twelve is a realistic log, not junk.
    log = [{"message": f"Sensor {name} reported a reading inside tolerance"} for name in "ABCDEFGHIJK"]
    log.append({"message": log[0]["message"]})
    assert flagged({"events": log}) == set()


def test_cut_at_max_length_mid_word_uses_the_schema():
    class Agent(BaseModel):
        stance: str = Field(max_length=60)
        label: str = Field(max_length=20)

    schema = Agent.model_json_schema()
    cut = "Ilex wants the northern research station open through the winter"
    assert len(cut) > 60
    data = {"stance": cut[:60], "label": "short label"}
    problems = check_value(data, DEFAULT, QualityContext(json_schema=schema))
    assert [(p.pointer, p.check) for p in problems] == [("/stance", "truncated")]
    assert "maxLength (60)" in problems[0].message
    # The same text without the schema is only a phrase; a complete sentence at the limit is fine.
    assert flagged(data) == set()
    full = "Ilex wants the northern station kept open all winter long."
    assert flagged({"stance": full}, context=QualityContext(json_schema=schema)) == set()


def test_prompt_copied_back_is_echo_but_shared_names_are_not():
    prompt = (
        "Write a vivid paragraph about Corvid, a pilot who is acting under pressure while the "
        "docking clamps on bay 3 fail one after another during the night shift."
    )
    context = QualityContext(prompt=prompt)
    copied = {
        "summary": "Corvid is a pilot who is acting under pressure while the docking clamps on bay 3 fail."
    }
    assert flagged(copied, context=context) == {("/summary", "echo")}
    own = {"summary": "Corvid keeps the ship steady while bay 3 sheds its docking clamps one by one."}
    assert flagged(own, context=context) == set()


def test_secrets_never_appear_and_are_never_quoted():
    key = "sk-proj-4f9a8b7c6d5e4f3a2b1c"
    data = {"config": {"note": f"Use {key} for the demo", key: "value"}}
    problems = check_value(data, DEFAULT, QualityContext(secrets=[key, "abc"]))
    assert [(p.pointer, p.check) for p in problems] == [("/config/note", "echo")]
    # Only in a key: reported once for the whole value.
    problems += check_value({"config": {key: "value"}}, DEFAULT, QualityContext(secrets=[key]))
    assert [(p.pointer, p.check) for p in problems[1:]] == [("", "echo")]
    assert all(key not in p.message and key[-6:] not in p.message for p in problems)
    # Secrets too short to be told from words are not looked for.
    assert flagged({"x": "abc abc"}, context=QualityContext(secrets=["abc"])) == set()


# ---------------------------------------------------------------- good data passes

GOOD_PROSE = [
    "Vesper keeps one hand on the throttle and the other on the railing, counting the seconds between each "
    "shudder of the hull. She has flown through worse storms, but never with a cargo bay full of sleeping colonists.",
    "The garden has gone quiet since the vote. Ilex still argues for opening the northern greenhouse in winter; "
    "Moss thinks the heaters will not last the season, and says so to anyone who will listen.",
    "Marlow reads the telemetry twice before trusting it. The numbers say the reactor is stable, yet the hum in "
    "the deck plates has changed pitch, and he has learned to believe the ship before the screen.",
    '"Hold the line," Vesper said. "We are not done yet."',
    '"Is anyone still on the bridge?" Juniper asked, and nobody answered.',
    "She paused. Then, quietly: “I never wanted the captain's chair.”",
    "Dr. Okafor signed off on the repairs at 06:30. The crew of the Meridian slept for the first time in two days.",
    "Bay 3 lost pressure at 04:12, twice in one night.",
    "Version 1.2.3 fixes the login loop, adds dark mode, and drops support for Python 3.8.",
    "Revenue reached $1,234,567 (up 12.5% year over year), driven by the Nordic region.",
    "Readings over the last hour were 101.2, 101.4, 100.9 and 99.8 kPa, all within tolerance.",
    "The probe at 10.0.0.12 stopped answering pings at 03:14:07 and came back at 03:20.",
    "Shifts ran on 2023-05-25, 2023-05-26 and 2023-05-27 without a single alarm.",
    "The ship's AI, designated H.A.L.O. Seven, monitors every deck",
    "Dr. Amara Okafor arrives at dawn with the replacement parts for bay 3",
    "The crate is 5'11\" tall and weighs 80 kg, so two of us carried it.",
    "Read the full incident report first. It is at https://status.example.com/incidents/42",
    "She reached for the door and…",
    "Cold light on the hull\nthe navigator counts stars\nnone of them are home",
    "Call +1-555-123-4567 for the duty officer. Nobody else has the override codes.",
    "The colony grew to 1,204,331 people by the spring census, twice the plan.",
    "Use a torque wrench, e.g. the blue one in bay 3, and log every bolt.",
    "No, no, no. Not the coolant line again.",
    "Juniper is the pilot everyone wants to fly with",
    "It was the one thing she was proud of",
    "Something worth fighting for",
    "Nothing left to hold on to",
    "The results are in",
    "Let her in",
    "Move the cargo from A to B",
    "The briefing starts at 9",
    "Batch 2 of 3",
    "Just landed in Tokyo! Can't wait to explore",
    "We will fight on the beaches, we will fight on the landing grounds, we will fight in the fields.",
    "The `colon_grid` format aligns columns with colons , not spaces.",
    "Licensed under the Apache License, Version 2.0; see the NOTICE file.",
]
GOOD_PHRASES = [
    "Recalibrating the docking clamps on bay 3",
    "Weighing whether to trust the new navigator",
    "Waiting for the storm to pass",
    "Logged in from a new device",
    "Checking in with the night shift",
    "Heading back to the hangar after a long day out",
    "Running diagnostics on the port thruster",
    "Signal lost somewhere over the ridge",
    "Vitamin C levels are low",
    "Moving on",
    "Plan B",
    "the world is dying",
    "what can we do to save it?",
]
GOOD_MARKDOWN = [
    "## Launch checklist\n\n- Fuel the boosters\n- Confirm the weather window\n- Brief the crew on abort modes\n\n"
    "All three must be done before 09:00 UTC.",
    "Steps:\n1. Open the valve.\n2. Wait for the gauge to settle\n3. Close the valve",
    "Run `doit fixtures` to rebuild every stale fixture, or `doit validate` in CI.",
    "**Status:** all *green* — 3/3 engines nominal, 0 faults.",
    "| bay | pressure |\n| --- | --- |\n| 3 | 101.2 kPa |\n| 4 | 99.8 kPa |",
    "* @ann made their first contribution in #101\n* @bo made their first contribution in #102\n"
    "* @cy made their first contribution in #103\n* @dee made their first contribution in #104",
    "1. [Getting started](#getting-started)\n1. [Configuration](#configuration)\n1. [Rules](#rules)\n"
    "1. [Support](#support)",
    "Distro supports Linux and BSD, but [Windows support](https://github.com/x/distro/issues/177) is planned.",
    "Title\n=====\n\nThe first paragraph of the (long) document.\n\nAnd the last",
    "```python\nfrom hotdata import HotData\nagent = HotData('fixtures/a.json', Agent).load()\n```",
]
GOOD_LABELS = [
    "Vesper",
    "Corvid",
    "Dr. Amara Okafor",
    "chatcmpl-8x9YzAbC",
    "agent_snapshots",
    "agent_snapshots/cockpit_demo",
    "test-probe",
    "3f2b8c1e-9d4a-4e7b-8f6a-2c1d0e9b7a55",
    "fp_44709d6fcb",
    "in_crisis",
    "ally",
    "chat.completion",
    "assistant",
    "2026-03-14T09:00:04Z",
    "2024-01-01 10:00:00.123+00:00",
    "2023-05-25",
    "https://example.com/docs/v1/quality-gates?tab=2#limits",
    "vesper@meridian.example",
    "1.2.3",
    "v2.0.0-rc.1",
    "42",
    "3.14159",
    "-74.0060",
    "1,234,567",
    "40.7128, -74.0060",
    "+1 555 123 4567",
    "00:1A:2B:3C:4D:5E",
    "1,2,3,4,5,6,7,8",
    "generators.schemas:AgentSnapshot",
    "hotdata.make._quality",
    "GET /api/v1/users/123 200 12ms",
    "SELECT id, name FROM agents WHERE phase = 'in_crisis';",
    "High priority",
    "Bay 3",
    "N/A",
    "string",
    "",
    " ",
]
GOOD_LOG = [
    "Connection established to db-primary:5432",
    "Retrying in 5s (attempt 2 of 5)",
    "Disk usage at 91% on /var/lib/postgres",
    "Backup completed in 4m12s",
    "User vesper@meridian.example logged in",
    "Cache miss for key agent:42:profile",
    "Heartbeat received from node-3",
    "Heartbeat received from node-4",
    "Request GET /api/v1/agents took 182 ms",
    "Connection lost. Retrying in 5s",
    "Shutting down worker pool",
]


@pytest.mark.parametrize("text", GOOD_PROSE + GOOD_PHRASES + GOOD_MARKDOWN)
def test_good_prose_passes(text):
    assert check_value({"text": text}, DEFAULT) == []
    assert check_value([text, "Ilex"], DEFAULT) == []


@pytest.mark.parametrize("text", GOOD_LABELS)
def test_good_labels_pass(text):
    assert check_value({"label": text}, DEFAULT) == []
    assert check_value([text], DEFAULT) == []


def test_placeholder_words_are_filler_only_where_prose_goes():
    assert flagged({"type": "string", "status": "N/A", "notes": ["None", "N/A"]}) == set()
    assert flagged({"summary": "string", "notes": ["TODO"]}) == {
        ("/summary", "degenerate"),
        ("/notes/0", "degenerate"),
    }
    schema = {"properties": {"about": {"type": "string", "maxLength": 400}}}
    assert flagged({"about": "TODO"}, context=QualityContext(json_schema=schema)) == {
        ("/about", "degenerate")
    }


def test_good_log_and_catalog_shaped_values_pass():
    value = {
        "id": "cockpit_demo",
        "name": "Corvid",
        "phase": "acting",
        "activity": "Recalibrating the docking clamps on bay 3",
        "summary": GOOD_PROSE[0],
        "connections": [
            {"target": "Vesper", "relation": "ally", "strength": 0.9},
            {"target": "Marlow", "relation": "ally", "strength": 0.7},
        ],
        "events": [
            {"at": f"2026-03-14T09:0{i}:00Z", "level": "info", "message": m} for i, m in enumerate(GOOD_LOG)
        ],
        "thoughts": GOOD_PROSE[1:4],
        "tags": ["ally", "ally", "pilot"],
    }
    assert check_value(value, DEFAULT, QualityContext(prompt="Write one agent snapshot for Corvid.")) == []


class Connection(BaseModel):
    target: str = Field(min_length=2, max_length=40)
    relation: Literal["ally", "rival", "mentor"]


class AgentSnapshot(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str = Field(max_length=40)
    activity: str = Field(max_length=120)
    summary: str = Field(min_length=10, max_length=400)
    connections: list[Connection] = []
    mentor: Connection | None = None


def test_schema_skips_enums_and_patterns_and_finds_max_length():
    schema = AgentSnapshot.model_json_schema()
    [summary] = schema_for_pointer(schema, "/summary")
    assert summary["maxLength"] == 400
    [relation] = schema_for_pointer(schema, "/connections/3/relation")  # $ref into $defs, then items
    assert relation["enum"] == ["ally", "rival", "mentor"]
    targets = schema_for_pointer(schema, "/mentor/target")  # anyOf [Connection, null]
    assert [t["maxLength"] for t in targets] == [40]
    assert schema_for_pointer(schema, "/nowhere/3") == []
    # An enum value or a patterned id is never prose, even when it would look like filler.
    weird = {"id": "string", "name": "Vesper", "activity": "Waiting", "summary": GOOD_PROSE[2]}
    weird["connections"] = [{"target": "Marlow", "relation": "ally"}]
    assert check_value(weird, DEFAULT, QualityContext(json_schema=schema)) == []


class Leaf(BaseModel):
    kind: Literal["leaf"] = "leaf"
    label: str = Field(max_length=30)


class Branch(BaseModel):
    kind: Literal["branch"] = "branch"
    label: str = Field(max_length=30)
    note: str = Field(max_length=200)
    children: list[Annotated[Branch | Leaf, Field(discriminator="kind")]] = []


class Invoice(BaseModel):
    id: UUID
    issued: date
    total: Decimal
    code: str = Field(pattern=r"^INV-\d+$")
    tree: Branch


def test_recursive_and_discriminated_schemas_are_followed():
    schema = Invoice.model_json_schema()
    [note] = schema_for_pointer(schema, "/tree/children/0/children/2/note")
    assert note["maxLength"] == 200
    labels = schema_for_pointer(schema, "/tree/children/1/label")  # oneOf Branch | Leaf
    assert sorted(label["maxLength"] for label in labels) == [30, 30]
    invoice = Invoice(
        id=UUID("3f2b8c1e-9d4a-4e7b-8f6a-2c1d0e9b7a55"),
        issued=date(2026, 3, 14),
        total=Decimal("1234.50"),
        code="INV-42",
        tree=Branch(
            label="Root",
            note="Everything billed this quarter, grouped by team.",
            children=[
                Leaf(label="Design"),
                Branch(label="Ops", note="Night shifts and on-call", children=[]),
            ],
        ),
    )
    assert check_value(invoice, DEFAULT, QualityContext(json_schema=schema)) == []
    cut = invoice.model_copy(
        update={"tree": Branch(label="Root", note="Everything billed this quarter, grouped by the")}
    )
    assert flagged(cut, context=QualityContext(json_schema=schema)) == {("/tree/note", "truncated")}


def test_openai_sdk_objects_pass_when_their_prose_is_fine():
    completion = {
        "id": "chatcmpl-8x9YzAbC",
        "object": "chat.completion",
        "created": 1_741_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": GOOD_PROSE[2], "refusal": None},
            }
        ],
        "usage": {"prompt_tokens": 41, "completion_tokens": 52, "total_tokens": 93},
    }
    assert check_value(completion, DEFAULT) == []
    chat = pytest.importorskip("openai.types.chat")
    model = chat.ChatCompletion.model_validate(completion)
    schema = chat.ChatCompletion.model_json_schema()
    assert check_value(model, DEFAULT, QualityContext(json_schema=schema)) == []
    completion["choices"][0]["message"]["content"] = GOOD_PROSE[2][:-1] + " and the"
    model = chat.ChatCompletion.model_validate(completion)
    assert flagged(model) == {("/choices/0/message/content", "truncated")}


def test_iter_strings_escapes_pointers():
    data = {"a/b": ["x", {"c~d": "y"}], "n": 3, "": "root key"}
    assert list(iter_strings(data)) == [("/a~1b/0", "x"), ("/a~1b/1/c~0d", "y"), ("/", "root key")]
    assert list(iter_strings("plain")) == [("", "plain")]


# ---------------------------------------------------------------- settings


def test_thresholds_change_outcomes():
    assert flagged({"d": "It is now in"}, QualitySettings(prose_min_words=5)) == set()
    loop = {"t": "We wait for the signal, we wait for the signal, we wait for the signal."}
    assert flagged(loop) == {("/t", "repeated")}
    assert flagged(loop, QualitySettings(repeat_max=3)) == set()
    assert flagged(loop, QualitySettings(repeat_ngram=6)) == set()
    prompt = "Describe the garden where Ilex and Moss argue about the northern research station every winter."
    echo = {"t": "Ilex and Moss argue about the northern research station every winter, loudly."}
    assert flagged(echo, context=QualityContext(prompt=prompt)) == {("/t", "echo")}
    assert flagged(echo, QualitySettings(echo_min_words=12), QualityContext(prompt=prompt)) == set()
    noisy = {"t": "The console showed 8821 9932 7710 then went dark again"}
    assert flagged(noisy) == set()
    assert flagged(noisy, QualitySettings(degenerate_max_symbol_ratio=0.2)) == {("/t", "degenerate")}


def test_checks_enabled_and_ignore():
    junk = {"a": "It is now in", "b": FEEDBACK}
    assert flagged(junk) == {("/a", "truncated"), ("/b", "echo"), ("/b", "degenerate")}
    assert flagged(junk, QualitySettings(checks=["echo"])) == {("/b", "echo")}
    assert flagged(junk, QualitySettings(enabled=False)) == set()
    assert flagged(junk, QualitySettings(ignore=["/b"])) == {("/a", "truncated")}
    nested = {"agents": [{"stance": "It is now in"}, {"stance": "Logged in"}]}
    assert flagged(nested, QualitySettings(ignore=["/agents/*/stance"])) == set()


def test_per_fixture_overrides_merge_and_unknown_keys_name_themselves():
    project = QualitySettings.from_mapping({"repeat_max": 3, "custom": ["checks:no_lorem"]})
    fixture = project.merged({"prose_min_words": 6, "checks": ["truncated", "echo"]})
    assert (fixture.prose_min_words, fixture.repeat_max, fixture.custom) == (6, 3, ["checks:no_lorem"])
    assert fixture.checks == ["truncated", "echo"]
    assert project.prose_min_words == 4  # unchanged
    with pytest.raises(QualityConfigError, match=r"quality=: prose_min_word: unknown key"):
        project.merged({"prose_min_word": 6})
    with pytest.raises(
        QualityConfigError,
        match=r"\[tool.hotdata.quality\]: checks.1: Input should be 'truncated', .*'near-duplicate'",
    ):
        QualitySettings.from_mapping({"checks": ["truncated", "spelling"]})
    with pytest.raises(QualityConfigError, match="expected 'module:function'"):
        QualitySettings.from_mapping({"custom": ["checks.no_lorem"]})
    with pytest.raises(QualityConfigError, match="repeat_max"):
        QualitySettings.from_mapping({"repeat_max": 0})


# ---------------------------------------------------------------- user checks


def no_moss(data, context):
    """A user check: Moss is not in this story."""
    for pointer, text in iter_strings(data):
        if "Moss" in text:
            yield QualityProblem(pointer, "no-moss", f"{pointer} mentions Moss")
    if isinstance(data, dict) and "narrative" not in data:
        yield "the value has no narrative"


def test_user_checks_by_name_and_as_callables(tmp_path, monkeypatch):
    module = tmp_path / "my_quality_checks.py"
    module.write_text(
        textwrap.dedent(
            """
            def shouting(data, context):
                if any(isinstance(v, str) and v.isupper() for v in data.values()):
                    yield "a value is all capitals"
            NOT_CALLABLE = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = QualitySettings(custom=["my_quality_checks:shouting", "tests.test_quality:no_moss"])
    problems = check_value({"stance": "Moss disagrees", "shout": "HOLD THE LINE"}, settings)
    assert [(p.pointer, p.check, p.message) for p in problems] == [
        ("", "shouting", "a value is all capitals"),
        ("/stance", "no-moss", "/stance mentions Moss"),
        ("", "no_moss", "the value has no narrative"),
    ]
    assert check_value({"narrative": "Ilex"}, DEFAULT, extra_checks=[no_moss]) == []

    with pytest.raises(
        QualityConfigError,
        match=r"'my_quality_checks:NOT_CALLABLE' is a int, not a function \(data, context\)",
    ):
        load_user_checks(["my_quality_checks:NOT_CALLABLE"])
    with pytest.raises(QualityConfigError, match=r"'my_quality_checks:missing' is missing, not a function"):
        load_user_checks(["my_quality_checks:missing"])
    with pytest.raises(QualityConfigError, match=r"'nowhere_module:check': cannot import 'nowhere_module'"):
        load_user_checks(["nowhere_module:check"])
    sys.modules.pop("my_quality_checks", None)


def test_a_failing_user_check_is_named():
    def broken(data, context):
        raise KeyError("boom")

    with pytest.raises(KeyError) as info:
        check_value({}, DEFAULT, extra_checks=[broken])
    assert "in the user quality check broken" in info.value.__notes__
    with pytest.raises(TypeError, match="quality check wrong returned 3; return QualityProblem or str"):
        check_value({}, DEFAULT, extra_checks=[wrong])


def wrong(data, context):
    return [3]


def test_module_docstring_example_runs():
    import doctest

    import hotdata.make.quality as quality

    assert doctest.testmod(quality).failed == 0


# ---------------------------------------------------------------- near-duplicate variants

CRISIS = {
    "name": "Tamsin",
    "phase": "in_crisis",
    "summary": "Tamsin is on the front line with no way back, counting the minutes until the relief ship "
    "arrives and trying not to let the crew see how frightened she is.",
    "activity": "Holding the blast door shut with both hands",
}


def test_two_variants_saying_the_same_thing_are_near_duplicates():
    copy = {**CRISIS, "name": "Kestrel", "phase": "deliberating"}
    copy["summary"] = CRISIS["summary"].replace("Tamsin", "Kestrel").replace("frightened", "scared")
    assert similarity(CRISIS, copy) > 0.5
    problems = near_duplicates(copy, {"agent_snapshots/soul_in_crisis": CRISIS}, DEFAULT)
    assert [(p.pointer, p.check) for p in problems] == [("", "near-duplicate")]
    assert "agent_snapshots/soul_in_crisis" in problems[0].message
    # One field copied in otherwise different variants is named by its pointer.
    other = {**CALM, "activity": CRISIS["activity"] + " again"}
    problems = near_duplicates(other, {"agent_snapshots/soul_in_crisis": CRISIS}, DEFAULT)
    assert [(p.pointer, p.check) for p in problems] == [("/activity", "near-duplicate")]
    strict = QualitySettings(near_duplicate_threshold=0.95)
    assert [p.pointer for p in near_duplicates(copy, {"x": CRISIS}, strict)] == ["/activity"]  # identical
    assert near_duplicates(copy, {"x": CRISIS}, QualitySettings(checks=["truncated"])) == []


def test_one_sentence_said_by_another_item_of_a_sibling_is_a_near_duplicate():
    """Two gardens, whose first and third agents say one sentence word for word (the catalog
    committed such a pair): the field is compared whichever item of the list holds it."""
    said = "We must close the northern research station before the sea ice comes."
    garden = {
        "agents": [{"stance": said}, {"stance": "I trust the supply planes to keep flying all winter."}]
    }
    other = {
        "agents": [
            {"stance": "No data is worth risking the lives of the crew."},
            {"stance": "x"},
            {"stance": said},
        ]
    }
    problems = near_duplicates(garden, {"garden_states/split": other}, DEFAULT)
    assert [(p.pointer, p.message) for p in problems] == [
        (
            "/agents/0/stance",
            "/agents/0/stance says the same as garden_states/split/agents/2/stance (similarity 1.00 > 0.5)",
        )
    ]


CALM = {
    "name": "Kestrel",
    "phase": "deliberating",
    "summary": "Kestrel has spread the star charts across the galley table and keeps moving one pin back "
    "and forth, unwilling to commit the fleet to a route nobody has flown.",
    "activity": "Weighing the northern route against the southern one",
}


def test_genuinely_different_variants_are_not_near_duplicates():
    assert similarity(CRISIS, CALM) < 0.1
    assert near_duplicates(CALM, {"agent_snapshots/soul_in_crisis": CRISIS}, DEFAULT) == []
    assert similarity(CRISIS, CRISIS) == 1.0
    assert similarity({"id": "a"}, {"id": "a"}) == 0.0  # no prose, nothing to compare
    assert similarity("The same short phrase here", "The same short phrase here") == 1.0


def _every_pair(value, siblings, settings):
    """The near-duplicate check as it was before the shingle index: every sibling compared."""

    def prose(data):
        fields = {}
        for pointer, text in iter_strings(data):
            said = words(text)
            if is_prose(text, settings.prose_min_words) and len(said) >= 3:
                fields[pointer] = {tuple(said[k : k + 3]) for k in range(len(said) - 2)}
        return fields, set().union(*fields.values())

    def jaccard(a, b):
        return len(a & b) / len(a | b) if a and b else 0.0

    limit = settings.near_duplicate_threshold
    mine_fields, mine = prose(value)
    found = []
    for name, sibling in siblings.items():
        their_fields, theirs = prose(sibling)
        score = jaccard(mine, theirs)
        if score > limit:
            found.append(("", f"the value says the same as {name} (prose similarity {score:.2f} > {limit})"))
            continue
        for p in (p for p in mine_fields if p in their_fields):
            score = jaccard(mine_fields[p], their_fields[p])
            if score > limit:
                found.append((p, f"{p} says the same as {name}{p} (similarity {score:.2f} > {limit})"))
    return found


def test_near_duplicates_through_the_shingle_index_are_those_every_pair_finds():
    rng = random.Random(26)
    vocab = [
        "the",
        "a",
        "ship",
        "crew",
        "star",
        "map",
        "route",
        "fleet",
        "door",
        "night",
        "storm",
        "harbor",
        "lamp",
        "river",
        "stone",
        "song",
    ]

    def sentence(n):
        return " ".join(rng.choice(vocab) for _ in range(n)).capitalize() + "."

    def variant():
        return {"id": str(rng.random()), "summary": sentence(18), "parts": [{"note": sentence(9)}]}

    def near(data):  # a few words changed: the same thing said again
        said = data["summary"].split()
        for _ in range(rng.randint(0, 5)):
            said[rng.randrange(len(said))] = rng.choice(vocab)
        return {**data, "id": str(rng.random()), "summary": " ".join(said)}

    originals = [variant() for _ in range(40)]
    values = [*originals, *(near(rng.choice(originals)) for _ in range(40))]
    values += [{"id": "x", "summary": "Short.", "parts": []}, {"n": 3}]  # no prose at all
    names = {f"v/{i}": v for i, v in enumerate(values)}
    family = FamilyProse()  # one memo and index for the whole run, as a build has
    kinds = set()
    for threshold in (0.05, 0.3, 0.5, 0.9):
        settings = QualitySettings(near_duplicate_threshold=threshold)
        for i, value in enumerate(values):
            if i % 7 == 0:  # a variant rewritten in the run: a new value under its name
                names[f"v/{(i + 1) % len(values)}"] = near(values[(i + 1) % len(values)])
            siblings = {n: v for n, v in names.items() if n != f"v/{i}"}
            got = [(p.pointer, p.message) for p in near_duplicates(value, siblings, settings, family)]
            assert got == _every_pair(value, siblings, settings), (threshold, i)
            kinds.update("whole" if p == "" else "field" for p, _ in got)
            kinds.add("some" if got else "none")
    assert kinds == {"whole", "field", "some", "none"}  # near-duplicates and non-duplicates both met


# ---------------------------------------------------------------- size


def test_a_100_kb_value_is_checked_in_one_pass():
    rng = random.Random(7)
    nouns = ["hull", "clamp", "valve", "relay", "ridge", "garden", "station", "beacon", "lantern", "orchard"]
    verbs = ["checks", "repairs", "watches", "counts", "follows", "mends", "crosses", "trusts", "doubts"]
    names = ["Vesper", "Corvid", "Marlow", "Ilex", "Moss", "Juniper", "Kestrel", "Tamsin", "Oriel"]

    def sentence():
        adjective = rng.choice(["quiet", "cold", "bright", "broken", "patient", "distant"])
        return f"{rng.choice(names)} {rng.choice(verbs)} the {adjective} {rng.choice(nouns)} near bay {rng.randint(1, 99)}."

    events = [
        {
            "at": f"2026-03-14T09:{i % 60:02d}:00Z",
            "kind": "observation",
            "text": " ".join(sentence() for _ in range(3)),
        }
        for i in range(600)
    ]
    value = {"id": "big", "events": events, "narrative": " ".join(sentence() for _ in range(300))}
    assert len(json.dumps(value)) > 100_000
    problems = check_value(value, DEFAULT, QualityContext(prompt=" ".join(sentence() for _ in range(50))))
    assert all(p.check == "repeated" for p in problems)  # random sentences may repeat; nothing else fires
    assert check_value({"t": "word " * 20_000}, DEFAULT)[0].check == "repeated"


def test_a_runaway_of_glued_numbers_is_degenerate_but_ids_and_timestamps_are_not() -> None:
    runaway = "2021-02-07T12:03:03.174.76.b20:18:53.1296.13:26:58:99.323241:20:15:51:01:32:21:20:27"
    found = check_value({"system_fingerprint": runaway}, QualitySettings())
    assert [(p.pointer, p.check) for p in found] == [("/system_fingerprint", "degenerate")]
    fine = {
        "at": "2022-01-04T22:37:05.343-03:00",
        "id": "3f2b8c1e-9d4a-4e7b-8f6a-2c1d0e9b7a55",
        "ip": "192.168.100.200",
        "version": "1.2.3",
    }
    assert check_value(fine, QualitySettings()) == []


# ---------------------------------------------------------------- one reading of text and schemas


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Dr. Kim met J. R. Vance. She smiled.", ["Dr. Kim met J. R. Vance.", "She smiled."]),
        ('He said "Stop. Now." Then he left.', ['He said "Stop. Now."', "Then he left."]),
        ("It was late, e.g. past nine. The wind rose.", ["It was late, e.g. past nine.", "The wind rose."]),
        ("It rained. then it stopped.", ["It rained. then it stopped."]),  # no capital: one sentence
        ("Was it? (Yes.) It was.", ["Was it?", "(Yes.)", "It was."]),
    ],
)
def test_one_sentence_splitter_for_the_gates_and_the_prose_trimmer(text, sentences):
    from hotdata.make.generate import trim_to_sentence

    assert split_sentences(text) == sentences
    # the trimmer keeps whole sentences as the splitter sees them: the first one, or none
    first = trim_to_sentence(text, len(text), 1)
    assert first == sentences[0]


def test_the_trimmer_and_the_gate_agree_where_a_sentence_ends():
    from hotdata.make.generate import trim_to_sentence

    text = "Marlow met Dr. Ames at the gate. Marlow met Dr. Ames at the gate."
    # one sentence said twice: the gate sees two sentences, and so does the trimmer
    assert flagged({"summary": text}) == {("/summary", "repeated")}
    assert trim_to_sentence(text, 40, 1) == "Marlow met Dr. Ames at the gate."


def test_a_field_behind_a_ref_is_read_the_same_by_the_ask_path_and_the_gates():
    from hotdata.make.generate import schema_for_model

    class Mood(BaseModel):
        word: Literal["calm", "tense"]
        note: str

    class Card(BaseModel):
        mood: Mood
        code: str = Field(pattern=r"^C-\d+$")
        summary: str

    schema = Card.model_json_schema()
    asked = schema_for_model(schema)
    assert "maxLength" not in asked["properties"]["code"]  # shaped: no cap
    assert asked["properties"]["summary"]["maxLength"] == 400  # free text: capped
    assert asked["$defs"]["Mood"]["properties"]["note"]["maxLength"] == 400  # reached through $ref
    card = {"mood": {"word": "calm", "note": "fine"}, "code": "C-12", "summary": GOOD_PROSE[0]}
    assert check_value(card, DEFAULT, QualityContext(json_schema=schema)) == []
