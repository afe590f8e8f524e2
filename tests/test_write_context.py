"""Issue 23, parts 4 and 6: context is not echo, and a refusal names its call and its cause.

A generator that passes earlier accepted text into a later prompt (the conversation so far)
gets its fixture built: the earlier field is not "copied from the prompt". A model that copies
its own instruction is still refused, naming the call that asked. A `ctx.write` that finds no
text says which call (the generator's file and line, and its opener) and the single cause.
Real `doit` subprocesses on a temp project, the scripted fake model.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

pytestmark = pytest.mark.slow

TICKETS = """
from hotdata.make import GenerationContext, fixture
from pydantic import BaseModel


class Ticket(BaseModel):
    customer: str
    agent: str


@fixture("tickets/double_charge", schema=Ticket)
async def ticket(ctx: GenerationContext) -> Ticket:
    customer = await ctx.write(
        "[customer turn] Write a customer's complaint about being charged twice.", max_length=300
    )
    agent = await ctx.write({agent_call}, max_length=300)
    return Ticket(customer=customer, agent=agent)
"""
INLINE = 'f"[agent turn] The customer wrote: {customer} Write the agent\'s short reply."'
PASSED = (
    '"[agent turn] Write the agent\'s short and friendly reply to the customer in two sentences.", '
    "context=[customer]"
)
COMPLAINT = (
    "I was charged twice for my March invoice and I would like the second charge refunded "
    "as soon as possible."
)
REPLY = "Thank you for telling us; the duplicate March charge is refunded and shows within five days."


def scripted(tmp_path: Path, script: dict[str, list[Any]]) -> dict[str, str]:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(path)}


def logged(project: Project) -> list[dict[str, Any]]:
    if not project.log.exists():
        return []
    return [json.loads(line) for line in project.log.read_text().splitlines()]


@pytest.mark.parametrize("agent_call", [INLINE, PASSED], ids=["quoted-in-the-prompt", "context="])
def test_earlier_answers_quoted_in_a_later_prompt_are_not_an_echo(tmp_path: Path, agent_call: str) -> None:
    project = Project.create(tmp_path)
    project.path("gens/tickets.py").write_text(TICKETS.format(agent_call=agent_call))
    env = scripted(tmp_path, {"[customer turn]": [COMPLAINT], "[agent turn]": [REPLY]})
    proc = project.doit("fixtures:tickets/double_charge", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(project.path("fixtures/tickets/double_charge.json").read_text())
    assert data == {"customer": COMPLAINT, "agent": REPLY}
    asked = [call["prompt"] for call in logged(project) if "[agent turn]" in call["prompt"]]
    assert asked and all(COMPLAINT in prompt for prompt in asked)
    if agent_call == PASSED:  # context= is sent before the instruction
        assert asked[0].startswith(f"Context:\n{COMPLAINT}\n\n[agent turn]")


def test_an_answer_that_copies_its_own_instruction_is_still_refused_and_names_the_call(
    tmp_path: Path,
) -> None:
    project = Project.create(tmp_path)
    project.path("gens/tickets.py").write_text(TICKETS.format(agent_call=PASSED))
    parrot = "Sure, here is the agent's short and friendly reply to the customer in two sentences for you."
    env = scripted(tmp_path, {"[customer turn]": [COMPLAINT], "[agent turn]": [parrot]})
    proc = project.doit("fixtures:tickets/double_charge", env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out
    line = next(
        line for line in proc.stdout.splitlines() if "tickets/double_charge" in line and "ctx.write" in line
    )
    assert f"ctx.write at gens/tickets.py:{_line_of('[agent turn]')}" in line, line
    assert "copies the prompt" in line, line
    assert not project.path("fixtures/tickets/double_charge.json").exists()


OPENERS = """
from hotdata.make import GenerationContext, fixture
from pydantic import BaseModel


class Log(BaseModel):
    entry: str


@fixture("logs/storm", schema=Log)
async def storm(ctx: GenerationContext) -> Log:
    entry = await ctx.write("[storm log] Write the first log entry.", max_length=200, start={start!r})
    return Log(entry=entry)
"""


@pytest.mark.parametrize(
    ("start", "answer", "cause"),
    [
        ("The storm hit.", ".", "ends with '.', so its sentence is over before the model writes"),
        ("Summary:", "Summary: the storm knocked out the northern radio mast.", "was read as a label"),
        ("The storm", "The storm " + "rolled on and on " * 30, "the text stopped mid-sentence"),
        (
            "The storm",
            "The storm " + "rolled on and on " * 20 + "until dawn.",
            "its first sentence is 361 characters, past max_length=200",
        ),
    ],
    ids=["opener-ends-with-a-period", "opener-read-as-a-label", "sentence-never-ends", "sentence-too-long"],
)
def test_a_write_that_finds_no_text_names_its_line_its_opener_and_the_cause(
    tmp_path: Path, start: str, answer: str, cause: str
) -> None:
    project = Project.create(tmp_path)
    project.path("gens/storm.py").write_text(OPENERS.format(start=start))
    env = scripted(tmp_path, {"[storm log]": [answer]})
    proc = project.doit("fixtures:logs/storm", env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out
    line = next(line for line in proc.stdout.splitlines() if "logs/storm" in line and "ctx.write" in line)
    at = next(i for i, text in enumerate(OPENERS.split("\n"), 1) if "[storm log]" in text)
    assert f"ctx.write at gens/storm.py:{at}" in line, line
    assert f"start={start!r}" in line, line
    assert cause in line, line
    assert "no whole sentence fit" not in line  # the one message that had three causes


def _line_of(text: str) -> int:
    source = TICKETS.format(agent_call=PASSED)
    return next(i for i, line in enumerate(source.split("\n"), 1) if text in line)


def test_the_fixture_gate_names_which_call_asked_the_prompt_a_value_copies(tmp_path: Path) -> None:
    """Text the generator puts together itself is judged by the fixture's gate against every
    prompt of the build; the refusal says which call asked the prompt it copies."""
    project = Project.create(tmp_path)
    source = TICKETS.format(agent_call=PASSED).replace(
        "return Ticket(customer=customer, agent=agent)",
        'return Ticket(customer="Write the agent\'s short and friendly reply to the customer in two sentences.",'
        " agent=agent)",
    )
    project.path("gens/tickets.py").write_text(source)
    env = scripted(tmp_path, {"[customer turn]": [COMPLAINT], "[agent turn]": [REPLY]})
    proc = project.doit("fixtures:tickets/double_charge", env=env)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    at = next(i for i, line in enumerate(source.split("\n"), 1) if "[agent turn]" in line)
    assert f"/customer copies the prompt of ctx.write at gens/tickets.py:{at}" in proc.stdout, proc.stdout


def _listed(heading_row: str) -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split(heading_row, 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE)


@pytest.mark.parametrize("method", ["write", "generate"])
def test_the_readme_lists_every_ctx_option_once(method: str) -> None:
    from hotdata.make import GenerationContext

    listed = _listed(f"| `ctx.{method}` | default | meaning | example |")
    wanted = [p for p in inspect.signature(getattr(GenerationContext, method)).parameters if p != "self"]
    assert sorted(listed) == sorted(wanted)
    assert len(listed) == len(set(listed))


def test_the_readme_lists_every_quality_key_once() -> None:
    from hotdata.make.quality import QualitySettings

    listed = _listed("| key | default | meaning | example |")
    assert sorted(listed) == sorted(QualitySettings.model_fields)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("Dr. Moreau also noticed", 0),  # an opener the embedded model was stopped inside of
        ("Mrs. Lee brought her cat. It limps.", 2),
        ("The cat weighs 4.2 kg and eats well.", 1),
        ("J. R. Okafor signed the chart.", 1),
        ("The answer was no.", 1),
        ('She said "stop." Then she left.', 2),
    ],
)
def test_the_embedded_model_stops_at_sentence_ends_not_at_abbreviations(text: str, ends: int) -> None:
    """The first-project trial: every opener beginning "Dr." was cut right after it (24 of 24)."""
    from hotdata.make.embedded._free_text import sentence_ends

    assert sentence_ends(text) == ends
