"""`doit verify` stays byte-for-byte strict where it skips a gate already passed by identical bytes.

A fixture-level quality gate is not run again for a value that encodes to exactly the
committed bytes of a fresh fixture whose record holds the current quality hash. These
tests hold verify to what it reported before that: a byte edited by hand, a gate setting
that would now refuse the committed value, and an answer that replays to other bytes
all still fail, naming the fixture.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.make.answers import answer_digest
from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

CARDS = """
from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("cards/{i}", schema=Note, template="note.j2", variants=[{"i": i} for i in range(3)])
async def card(ctx, i):
    draft = await ctx.generate(ctx.render() + f" (card {i})", Draft)
    return Note(title=f"Card {i}", body=draft.text)
"""

# A gate setting added after the build that refuses cards/1's committed value, and only the
# whole value: the answer it is made from (a Draft, no title) passes, so the fixture-level gate
# alone can refuse it.
REFUSE = """
def refuse_card_1(data, context):
    return ["the title is the one refused"] if isinstance(data, dict) and data.get("title") == "Card 1" else []
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=7) as srv:
        yield srv


@pytest.fixture
def built(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    proj = Project.create(tmp_path)
    proj.path("gens/cards.py").write_text(CARDS)
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt")
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}
    proj.doit("fixtures", env=env, check=True)
    proc = proj.doit("verify", env=env, check=True)
    assert "are what the committed code produces (0 model calls)" in proc.stdout
    server.requests.clear()
    return proj, env


def chat_requests(server: FakeOpenAIServer) -> int:
    return len([r for r in server.requests if str(r.get("path", "")).endswith("/chat/completions")])


def failing(stdout: str) -> set[str]:
    """The fixtures verify named as drifted (each report starts with the fixture's name)."""
    return {
        line.split(":")[0] for line in stdout.splitlines() if line.startswith(("cards/", "notes/", "agents/"))
    }


def test_a_committed_value_edited_by_one_byte_fails_verify_naming_the_fixture(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    data = proj.path("fixtures/cards/1.json")
    raw = bytearray(data.read_bytes())
    at = raw.index(b'"body": "') + len(b'"body": "')
    raw[at] = ord("Q") if raw[at] != ord("Q") else ord("Z")  # one byte, still valid JSON
    data.write_bytes(bytes(raw))
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert "cards/1: the committed data differs from what the code produces (edited:" in proc.stdout
    assert failing(proc.stdout) == {"cards/1"}
    assert chat_requests(server) == 0


def test_a_gate_setting_that_refuses_the_committed_value_still_fails_verify(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    proj.path("gens/checks.py").write_text(REFUSE)
    pyproject = proj.path("pyproject.toml")
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.hotdata.quality]\ncustom = ["gens.checks:refuse_card_1"]\n'
    )
    status = proj.status(env)
    assert (
        status["cards/1"]["state"] == "stale"
        and "the title is the one refused" in status["cards/1"]["reason"]
    )
    assert status["cards/0"]["state"] == "fresh"  # the new gate passes the others' committed bytes
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert "cards/1: cannot be rebuilt from recorded answers" in proc.stdout
    assert failing(proc.stdout) == {"cards/1"}
    assert chat_requests(server) == 0


def test_a_record_whose_answer_replays_to_different_bytes_fails_verify(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    meta_path = proj.path("fixtures/cards/1.meta.json")
    meta = json.loads(meta_path.read_text())
    [key] = meta["answer_digests"]
    [stored_path] = proj.path("fixtures/.answers").rglob(f"{key}.json")
    stored = json.loads(stored_path.read_text())
    answer = json.loads(stored["answer"]["text"])
    answer["text"] = answer["text"] + " again"
    stored["answer"]["text"] = json.dumps(answer)
    stored_path.write_text(json.dumps(stored, indent=1))
    # the answer alone changed: the store changed, not the code
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert "cards/1: the answer store changed, not the code" in proc.stdout
    assert failing(proc.stdout) == {"cards/1"}
    # the record made to vouch for the new answer: the fixture is fresh, its replay gives other bytes
    meta["answer_digests"][key] = answer_digest(stored["answer"]["text"], stored["answer"]["finish_reason"])
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    assert proj.status(env)["cards/1"]["state"] == "fresh"
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert "cards/1: the committed data differs from what the code produces (fresh:" in proc.stdout
    assert '/body: "' in proc.stdout and ' again"' in proc.stdout
    assert failing(proc.stdout) == {"cards/1"}
    assert chat_requests(server) == 0
