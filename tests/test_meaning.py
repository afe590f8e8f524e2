"""Meaning checks (issue 23, part 1): `placeholder`, `meta`, `names` and `roles`, with no model.

Held to precision on labelled strings from several domains (a check that refuses good
text is a defect too), and wired into the build: a refused answer is asked again, and the
line names the JSON pointer and the check. Real `doit` subprocesses for the build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from bench.bench_meaning import (
    NAMES_ROLES,
    NAMES_ROLES_TUNING,
    held_out,
    labelled,
    names_roles_scores,
    scores,
)
from hotdata.make.quality import QualityConfigError, QualityContext, QualitySettings, check_value


def test_each_meaning_check_keeps_its_precision_on_the_labelled_strings_and_the_catalog() -> None:
    rows = labelled()
    assert sum(1 for _, label in rows if label == "good") >= 200  # the catalog's strings are in
    for name, score in scores(rows).items():
        assert score["tp"] >= 10, name
        assert score["precision"] >= 0.9, (name, score["wrong"])


def test_each_meaning_check_keeps_its_precision_on_strings_it_was_never_tuned_on() -> None:
    """The held-out set (written by someone who had not seen the checks) holds them to the issue's
    precision; recall is reported by the bench, not held here."""
    for name, score in scores(held_out()).items():
        assert score["tp"] >= 5, name
        assert score["precision"] >= 0.9, (name, score["wrong"])


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("The outage at [TechCorp] lasted four hours.", "placeholder"),
        ("Hi <customer name>, thanks for writing.", "placeholder"),
        ("I like this review, but I would suggest rephrasing it for better clarity.", "meta"),
        ("Monitoring alerted the AI, a system named SmolLM.", "meta"),
    ],
)
def test_a_defect_is_refused_at_its_pointer_in_words(text: str, check: str) -> None:
    problems = check_value({"notes": [{"body": text}]}, QualitySettings(), QualityContext())
    assert [(p.pointer, p.check) for p in problems] == [("/notes/0/body", check)]
    assert problems[0].message.startswith("/notes/0/body ")


@pytest.mark.parametrize(
    "text",
    [
        "[ERROR] disk /dev/sda1 full at 03:12; the ingest workers stopped writing.",
        "See the [runbook](https://example.com/runbook) for the restart order.",
        "I'm writing this review after two weeks of daily use.",
        "The ship's AI, called Warden, refuses to open the hangar doors.",
    ],
)
def test_data_that_only_looks_like_a_defect_passes(text: str) -> None:
    assert check_value({"body": text}, QualitySettings(), QualityContext()) == []


def test_each_check_can_be_turned_off_by_name() -> None:
    text = {"body": "Dear [Customer Name], as an AI language model I cannot refund you."}
    found = {p.check for p in check_value(text, QualitySettings(), QualityContext())}
    assert found == {"placeholder", "meta"}
    only = QualitySettings(checks=["truncated", "repeated", "echo", "degenerate", "near-duplicate"])
    assert check_value(text, only, QualityContext()) == []


def note(text: str) -> str:
    return json.dumps({"text": text})


@pytest.mark.slow
def test_a_placeholder_answer_is_refused_and_asked_again_in_the_build(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    script = tmp_path / "script.json"
    bad = "Welcome to [Company], your desk is by the north window."
    good = "Welcome aboard, your desk is by the north window and the coffee is in the galley."
    script.write_text(json.dumps({"[fixture notes/welcome]": [note(bad), note(good)]}))
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    project.doit("fixtures:notes/welcome", env=env, check=True)
    assert json.loads(project.path("fixtures/notes/welcome.json").read_text())["body"] == good
    record: dict[str, Any] = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    reasons = record["failed_attempts"][0]["reasons"]
    assert reasons == ["/text holds the placeholder '[Company]'"]


def test_a_skeleton_answer_of_bare_list_markers_is_a_placeholder() -> None:
    """The first-project trial: the embedded model answered every talk's takeaways with
    ["1. ", "2. ", "3. "], which passed every gate."""
    found = check_value({"takeaways": ["1. ", "2. ", "3. "]}, QualitySettings(), QualityContext())
    assert [(p.pointer, p.check) for p in found][:1] == [("/takeaways/0", "placeholder")]
    assert "bare list marker" in found[0].message
    assert check_value({"takeaways": ["1. Cache the fonts.", "-"]}, QualitySettings(), QualityContext()) == []


# ---------------------------------------------------------------- names and roles (issue 23, part 1)

NAMES_ONLY = QualitySettings(checks=["names"])


def test_names_and_roles_keep_their_precision_on_held_out_and_tuning_conversations() -> None:
    """Held out: written before either check existed, ten domains not in the catalog."""
    for path in (NAMES_ROLES, NAMES_ROLES_TUNING):
        for name, score in names_roles_scores(path).items():
            assert score["tp"] >= 5, (path.name, name)
            assert score["precision"] >= 0.9, (path.name, name, score["wrong"])


def test_names_is_opt_in_and_roles_is_on_by_default() -> None:
    assert "names" not in QualitySettings().checks
    assert "roles" in QualitySettings().checks


def ask(prompt: str, data: Any, settings: QualitySettings = NAMES_ONLY) -> list[tuple[str, str, str]]:
    return [
        (p.pointer, p.check, p.message) for p in check_value(data, settings, QualityContext(prompt=prompt))
    ]


POSTMORTEM = "Write one action item for the checkout outage. The owner is the Platform team."
REPLY = "Write the agent's reply to the customer whose parcel arrived damaged."


@pytest.mark.parametrize(
    ("prompt", "data", "name"),
    [
        # a stand-in or machine-made name
        (POSTMORTEM, {"item": "Premise-1 will add a canary stage to the checkout pipeline."}, "Premise-1"),
        (POSTMORTEM, {"item": "TechCorp will add a canary stage to the checkout pipeline."}, "TechCorp"),
        (REPLY, {"body": "Thanks for waiting, your replacement ships today. Regards, John Doe"}, "John Doe"),
        # a name where a person's name goes, when the fixture named someone else
        (REPLY, {"customer": "Ana Ruiz", "body": "Hi Maria, your replacement parcel ships today."}, "Maria"),
        (
            REPLY,
            {"customer": "Ana Ruiz", "body": "Mr Johnson approved a replacement parcel today."},
            "Johnson",
        ),
        (
            REPLY,
            {"lead": "Priya Raman", "body": "The incident commander, Jordan Blake, began the rollback."},
            "Jordan",
        ),
        (REPLY, {"pet": "Biscuit", "body": "Max had two molars removed and recovered well."}, "Max"),
    ],
)
def test_an_invented_name_is_refused_at_its_pointer_with_how_to_allow_it(
    prompt: str, data: Any, name: str
) -> None:
    [(pointer, check, message)] = ask(prompt, data)
    assert (pointer, check) == ("/" + next(k for k, v in data.items() if name in v), "names")
    assert name in message and "(names check)" in message and "names = [" in message


@pytest.mark.parametrize(
    ("prompt", "data"),
    [
        # names the prompt, the fields or the allow-list supply
        (POSTMORTEM, {"item": "The Platform team will add a canary stage before the next release."}),
        (REPLY, {"customer": "Ana Ruiz", "body": "Hi Ana, your replacement parcel ships today."}),
        # a text that uses a given name may add incidental ones
        (REPLY, {"hotel": "Casa Azul", "body": "At Casa Azul the owner, Lupita, made us chocolate daily."}),
        # a possessive of a given name
        (REPLY, {"chef": "Kemal", "body": "Friday brings Romesco sauce and Kemal's pistachio baklava."}),
        # given no names, the text may name anyone
        (REPLY, {"body": "My husband Tom uses it every morning; Mr Okafor next door borrowed it twice."}),
        # days, months, sentence-initial capitals, acronyms and codes, lower-case words of the prompt
        (
            REPLY,
            {"customer": "Ana Ruiz", "body": "Replacement shipped Monday. Ana, expect it in March via UPS."},
        ),
        (
            "Explain how to open the reports page.",
            {"app": "Ledgerly", "body": "Open Reports, then choose Ledgerly's Export button."},
        ),
        # reported speech
        (REPLY, {"customer": "Ana Ruiz", "body": 'Ana wrote: "Dear Maria, thanks for the parcel."'}),
    ],
)
def test_a_name_the_fixture_was_given_or_may_invent_passes(prompt: str, data: Any) -> None:
    assert ask(prompt, data) == []


def test_names_allow_list_and_no_prompt_skip_the_check() -> None:
    data = {"item": "Premise-1 will add a canary stage to the checkout pipeline."}
    assert ask(POSTMORTEM, data, QualitySettings(checks=["names"], names=["Premise-1"])) == []
    # committed data (doit validate): the prompts are unknown, so nothing is refused
    assert check_value(data, NAMES_ONLY, QualityContext()) == []
    # the material a prompt gave (context=) supplies names too
    material = QualityContext(prompt=POSTMORTEM, context=["The owner, Premise-1, was chosen by vote."])
    assert check_value(data, NAMES_ONLY, material) == []


def turns(*said: tuple[str, str]) -> dict[str, Any]:
    return {"turns": [{"role": role, "text": text} for role, text in said]}


@pytest.mark.parametrize(
    ("conversation", "pointer", "words"),
    [
        (
            turns(("customer", "Agent: Thank you for contacting support."), ("agent", "What's wrong?")),
            "/turns/0/text",
            "labelled as another role",
        ),
        (
            turns(
                ("customer", "As your support agent, I'll fix this today."),
                ("agent", "Thanks, order number?"),
            ),
            "/turns/0/text",
            "speaks as another role",
        ),
        (
            turns(("guest", "Hello, this is the front desk."), ("staff", "Could I get towels for room 312?")),
            "/turns/0/text",
            "speaks as another role",
        ),
        (
            turns(
                ("customer", "My invoice shows two charges."),
                ("agent", "Let me look."),
                ("customer", "I checked your account and there was no duplicate charge."),
            ),
            "/turns/2/text",
            "says what only the other side does",
        ),
        (
            turns(
                ("user", "How do I reset it?"),
                ("assistant", "Settings, then Security."),
                ("user", "Is there anything else I can help you with today?"),
            ),
            "/turns/2/text",
            "says what only the other side does",
        ),
        (
            turns(
                ("customer", "The jacket is the wrong size."),
                ("agent", "I want to get my money back, please."),
            ),
            "/turns/1/text",
            "says what only the other side does",
        ),
        (
            turns(
                ("agent", "Dear customer, thanks for waiting."),
                ("customer", "Dear customer, I'm still waiting."),
            ),
            "/turns/1/text",
            "addresses its own role",
        ),
    ],
)
def test_a_turn_spoken_by_the_wrong_side_is_refused_at_its_pointer(
    conversation: dict[str, Any], pointer: str, words: str
) -> None:
    [problem] = check_value(conversation, QualitySettings(), QualityContext())
    assert (problem.pointer, problem.check) == (pointer, "roles")
    assert words in problem.message and "(roles check)" in problem.message
    assert f'ignore = ["{pointer}"]' in problem.message


@pytest.mark.parametrize(
    "conversation",
    [
        # the serving side doing its job, and saying who it is
        turns(
            ("customer", "I was charged twice."), ("agent", "As the bank's representative, I've refunded it.")
        ),
        # the asking side checking its own things, or being a customer
        turns(("customer", "I checked my account settings and reinstalled it."), ("agent", "Which phone?")),
        turns(
            ("agent", "Dear customer, thanks for waiting."),
            ("customer", "I've been a customer for ten years."),
        ),
        # about the other side, not speaking as it; reported speech
        turns(("customer", "The last agent told me the same thing."), ("agent", "Sorry, I'll check now.")),
        turns(
            ("customer", 'Your agent said: "I\'ve refunded the charge", but nothing came.'),
            ("agent", "Sorry!"),
        ),
        turns(("agent", "As the customer's order was late, I added a voucher."), ("customer", "Thanks.")),
        # roles the check cannot place are told apart by name only
        turns(("alice", "I checked your account yesterday."), ("bob", "Thanks, Alice.")),
    ],
)
def test_a_conversation_spoken_by_the_right_sides_passes(conversation: dict[str, Any]) -> None:
    assert check_value(conversation, QualitySettings(), QualityContext()) == []


def test_a_declared_conversation_is_read_through_its_own_keys() -> None:
    data = {
        "tickets": [
            {
                "log": [
                    {"who": "customer", "says": "Agent: how can I help you?"},
                    {"who": "agent", "says": "Hi"},
                ]
            }
        ]
    }
    assert check_value(data, QualitySettings(), QualityContext()) == []  # not conversation-shaped
    settings = QualitySettings.from_mapping({"roles": {"/tickets/*/log": {"role": "who", "text": "says"}}})
    [problem] = check_value(data, settings, QualityContext())
    assert (problem.pointer, problem.check) == ("/tickets/0/log/0/says", "roles")
    with pytest.raises(QualityConfigError, match=r"roles\./turns\.speaker: unknown key"):
        QualitySettings.from_mapping({"roles": {"/turns": {"speaker": "who"}}})


TICKET_GENERATOR = """from typing import Literal

from pydantic import BaseModel

from hotdata.make import GenerationContext, fixture


class Turn(BaseModel):
    role: Literal["customer", "agent"]
    text: str


class Ticket(BaseModel):
    subject: str
    turns: list[Turn]


@fixture("tickets/refund", schema=Ticket)
async def refund(ctx: GenerationContext) -> Ticket:
    return await ctx.generate("Write a support ticket about a double charge, as a conversation.")
"""


@pytest.mark.slow
def test_a_customer_speaking_as_the_agent_is_refused_in_the_build_and_allowed_as_told(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/support.py").write_text(TICKET_GENERATOR)
    said = [
        ("customer", "Hi, I was charged twice for my March invoice."),
        ("agent", "Sorry about that. Let me look into your billing history."),
        ("customer", "I checked your account and there was no duplicate charge, so nothing needs refunding."),
    ]
    script = tmp_path / "script.json"
    ticket = {"subject": "Double charge", **turns(*said)}
    script.write_text(json.dumps({"double charge": [json.dumps(ticket)]}))
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    refused = project.doit("fixtures:tickets/refund", env=env)
    assert refused.returncode != 0
    lines = [line for line in refused.stdout.splitlines() if "FAILED tickets/refund" in line]
    assert len(lines) == 1 and "Traceback" not in refused.stdout + refused.stderr
    assert (
        "/turns/2/text (role 'customer') says what only the other side does: 'I checked your account' "
        "(roles check); if that role may say it, ignore the pointer: "
        'ignore = ["/turns/2/text"] in [tool.hotdata.quality]'
    ) in lines[0]
    assert not project.path("fixtures/tickets/refund.json").exists()
    # doing as told builds it
    pyproject = project.path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + '\n[tool.hotdata.quality]\nignore = ["/turns/2/text"]\n')
    project.doit("fixtures:tickets/refund", env=env, check=True)
    assert (
        json.loads(project.path("fixtures/tickets/refund.json").read_text())["turns"][2]["text"] == said[2][1]
    )
