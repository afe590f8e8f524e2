"""Code-closure fingerprints, the answer store and `doit verify`: real doit, real HTTP to the fake server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

SECRET = "sk-hotdata-ANSWERSTORE-0123456789abcdef"

HELPERS = '''
"""Helpers the generators share."""

TITLES = ("Welcome aboard", "Hello there")


def pick_title(index: int) -> str:
    return TITLES[index % len(TITLES)]


class Shouter:
    def shout(self, text: str) -> str:
        return text.upper()
'''

CARDS = """
from hotdata.make import fixture

from . import helpers
from .helpers import Shouter, pick_title
from .schemas import Draft, Note


@fixture("cards/{i}", schema=Note, template="note.j2", variants=[{"i": 0}, {"i": 1}])
async def card(ctx, i):
    draft = await ctx.generate(ctx.render() + f" (card {i})", Draft)
    return Note(title=pick_title(i) + helpers.SUFFIX, body=Shouter().shout(draft.text))
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=5) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    proj = Project.create(tmp_path)
    proj.path("gens/helpers.py").write_text(HELPERS + 'SUFFIX = "!"\n')
    proj.path("gens/cards.py").write_text(CARDS)
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt", api_key_name="acme")
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt", "ACME_API_KEY": SECRET}
    (user_dir / "keys.json").write_text(json.dumps({"acme": SECRET}))
    proj.doit("fixtures", env=env, check=True)
    assert len(server.requests) == 5
    server.requests.clear()
    return proj, env


def requests(server: FakeOpenAIServer) -> int:
    count = len([r for r in server.requests if r["path"].endswith("/chat/completions")])
    server.requests.clear()
    return count


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('SUFFIX = "!"', 'SUFFIX = "?"', "SUFFIX in gens/helpers.py changed"),
        (
            'TITLES = ("Welcome aboard", "Hello there")',
            'TITLES = ("Welcome", "Hello there")',
            "TITLES in gens/helpers.py changed",
        ),
        (
            "return TITLES[index % len(TITLES)]",
            "return TITLES[(index + 1) % len(TITLES)]",
            "pick_title in gens/helpers.py changed",
        ),
        ("return text.upper()", "return text.title()", "Shouter in gens/helpers.py changed"),
    ],
    ids=["module-constant", "constant-of-a-helper", "helper-function", "class"],
)
def test_code_the_generator_uses_is_an_input(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer, old: str, new: str, reason: str
) -> None:
    proj, env = project
    proj.edit("gens/helpers.py", old, new)
    rows = proj.status(env)
    assert {n: r["reason"] for n, r in rows.items() if r["state"] != "fresh"} == {
        "cards/0": reason,
        "cards/1": reason,
    }
    before = {i: json.loads(proj.path(f"fixtures/cards/{i}.json").read_text()) for i in (0, 1)}
    proc = proj.doit("fixtures", env=env, check=True)
    assert requests(server) == 0  # only code around the answers changed: replayed
    assert "2 generated" in proc.stdout and "2 replayed" in proc.stdout
    after = {i: json.loads(proj.path(f"fixtures/cards/{i}.json").read_text()) for i in (0, 1)}
    assert after != before
    assert all(after[i]["body"].lower() == before[i]["body"].lower() for i in (0, 1))  # the same prose


def test_docstring_comment_and_formatting_edits_change_nothing(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit("gens/helpers.py", '"""Helpers the generators share."""', '"""Helpers, reworded."""')
    proj.edit(
        "gens/helpers.py",
        "def pick_title(index: int) -> str:\n",
        "def pick_title(index: int) -> str:\n    # a comment\n",
    )
    proj.edit("gens/helpers.py", "return text.upper()", "return (\n            text.upper()\n        )")
    assert {r["state"] for r in proj.status(env).values()} == {"fresh"}


def test_replay_only_fails_clearly_on_a_miss_and_off_always_calls(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proj.edit("templates/note.j2", "welcome", "warm welcome")
    proc = proj.doit("fixtures", "replay=only", env=env)
    assert proc.returncode != 0
    assert requests(server) == 0
    assert "replay = only and this request was never answered" in proc.stdout
    assert "the prompt differs from the recorded one at" in proc.stdout
    assert "warm welcome note" in proc.stdout
    proc = proj.doit("fixtures", "force=1", "replay=off", env=env, check=True)
    assert requests(server) == 5


def test_prune_removes_only_what_no_fixture_uses(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    store = proj.path("fixtures/.answers")
    before = {p.name for p in store.rglob("*.json")}
    assert len(before) == 5
    proj.edit("templates/note.j2", "welcome", "warm welcome")
    proj.doit("fixtures:notes/welcome", env=env, check=True)  # cards are deselected, still need theirs
    status = proj.doit("status", env=env, check=True).stdout
    assert "1 recorded answer(s)" in status and "`doit prune`" in status
    proj.doit("prune", env=env, check=True)
    after = {p.name for p in store.rglob("*.json")}
    assert len(after) == 5 and len(before - after) == 1
    assert proj.doit("verify", env=env).returncode != 0  # cards are stale, but...
    assert requests(server) == 1


def test_verify_passes_on_a_clean_checkout_and_fails_on_drift(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert "all 5 fixture(s) are what the committed code produces (0 model calls)" in proc.stdout
    assert requests(server) == 0
    data = proj.path("fixtures/cards/0.json")
    tweaked = json.loads(data.read_text())
    tweaked["title"] = "Tweaked by hand"
    data.write_text(json.dumps(tweaked))
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert "cards/0: the committed data differs from what the code produces (edited:" in proc.stdout
    assert '~ /title: "Tweaked by hand" -> "Welcome aboard!"' in proc.stdout
    proj.path("fixtures/.answers").rename(proj.path("answers-elsewhere"))
    proc = proj.doit("verify", env=env)
    assert "cannot be rebuilt from recorded answers" in proc.stdout
    assert requests(server) == 0


def test_the_store_never_holds_the_key(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, _ = project
    for path in proj.path("fixtures").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    entry = json.loads(next(proj.path("fixtures/.answers").rglob("*.json")).read_text())
    assert set(entry) == {"request", "fixture", "recorded_at", "answer"}
    assert set(entry["request"]) == {"model", "prompt", "system", "schema", "options", "attempt", "run"}
