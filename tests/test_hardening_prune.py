"""Issue 21, section 3: ``doit prune`` never deletes an answer anything may still replay.

Prune takes the build lock; it keeps the answers of a fixture whose record cannot be
read, of a build that paid and then failed, of fixtures another ``generators`` setting
still commits, of a dependent generator between its batch rounds; a batch job it cannot
read stops it. ``doit status`` invites a prune by the same rule. Real `doit`
subprocesses on temp projects, real HTTP to ``FakeOpenAIServer`` (billing is its request
and batch counts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project
from test_batch import assert_billed_once, chat, env_for, jobs, make_project, states, wait_for

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

CARDS = """
from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("cards/{i}", schema=Note, template="note.j2", variants=[{"i": i} for i in range(6)])
async def card(ctx, i):
    draft = await ctx.generate(ctx.render() + f" (card {i})", Draft)
    return Note(title=f"Card {i}", body=draft.text)
"""

FLAKY = """
from pathlib import Path

from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("notes/flaky", schema=Note, template="note.j2")
async def flaky(ctx):
    draft = await ctx.generate(ctx.render() + " (flaky)", Draft)
    if Path(__file__).with_name("FAIL").exists():  # a bug after the model was paid
        raise RuntimeError("the generator broke after its model call")
    return Note(title="Flaky", body=draft.text)
"""

INVITE = "no fixture uses: `doit prune`"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=13) as srv:
        yield srv


@pytest.fixture
def built(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    """The template project plus six cards (9 fixtures), built through the fake server."""
    proj = Project.create(tmp_path)
    proj.path("gens/cards.py").write_text(CARDS)
    server.write_llm_config(tmp_path / "llm", "fake-gpt")
    env = {"LLM_USER_PATH": str(tmp_path / "llm"), "HOTDATA_MODEL": "fake-gpt"}
    proj.doit("fixtures", env=env, check=True)
    assert billed(server) == 9
    return proj, env


def billed(server: FakeOpenAIServer) -> int:
    count = len(chat(server))
    server.requests.clear()
    return count


def answers(proj: Project) -> set[str]:
    return {p.name for p in proj.path("fixtures/.answers").rglob("*") if p.is_file()}


def pruned(proj: Project, env: dict[str, str]) -> str:
    proc = proj.doit("prune", env=env, check=True)
    return proc.stdout.strip().splitlines()[-1]


def verified(proj: Project, env: dict[str, str], count: int = 9) -> None:
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert f"all {count} fixture(s) are what the committed code produces (0 model calls)" in proc.stdout


# ---------------------------------------------------------------- the lock


def test_prune_waits_for_a_build_that_records_answers(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    old = answers(proj)
    proj.edit("templates/note.j2", "welcome", "warm welcome")  # six cards and the note ask anew
    server.hold()
    build = proj.popen("fixtures", env=env)
    try:
        wait_for(lambda: bool(chat(server)), "the build's first request")  # it holds the lock by then
        prune = proj.popen("prune", env=env)
        assert prune.stderr is not None
        waiting = prune.stderr.readline()  # said before it waits: an observed event, not a delay
        assert waiting.startswith("hotdata: another build holds ") and "waiting up to" in waiting
        assert answers(proj) >= old
    finally:
        server.release()
    out, err = build.communicate(timeout=120)
    assert build.returncode == 0, out + err
    assert "7 generated" in out and "7 model call(s)" in out
    out, err = prune.communicate(timeout=120)
    assert prune.returncode == 0, out + err
    assert "doit prune: removed 7 recorded answer(s) no fixture uses; 9 kept" in out
    assert len(answers(proj) - old) == 7  # every answer the build recorded is there
    verified(proj, env)
    assert billed(server) == 7


# ---------------------------------------------------------------- answers still needed


def test_the_answers_of_a_record_that_cannot_be_read_are_kept(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    before = answers(proj)
    meta = proj.path("fixtures/notes/welcome.meta.json")
    meta.write_text("<<<<<<< HEAD\n" + meta.read_text() + "=======\n{}\n>>>>>>> feature\n")
    assert INVITE not in proj.doit("status", env=env, check=True).stdout
    assert pruned(proj, env) == "doit prune: removed 0 recorded answer(s) no fixture uses; 9 kept"
    assert answers(proj) == before
    proc = proj.doit("fixtures", env=env, check=True)  # the record is rebuilt from its answer
    assert "1 generated" in proc.stdout and "0 model call(s), 1 replayed" in proc.stdout
    verified(proj, env)
    assert billed(server) == 0


def test_the_answers_of_a_build_that_paid_and_failed_are_kept(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    proj.path("gens/flaky.py").write_text(FLAKY)
    proj.path("gens/FAIL").write_text("")
    proc = proj.doit("fixtures", env=env)
    assert proc.returncode != 0 and "the generator broke after its model call" in proc.stdout
    assert billed(server) == 1
    paid = answers(proj)
    assert len(paid) == 10
    assert INVITE not in proj.doit("status", env=env, check=True).stdout
    assert pruned(proj, env) == "doit prune: removed 0 recorded answer(s) no fixture uses; 10 kept"
    proj.path("gens/FAIL").unlink()  # fixed: the next build replays what was paid for
    proc = proj.doit("fixtures", env=env, check=True)
    assert "1 generated" in proc.stdout and "0 model call(s), 1 replayed" in proc.stdout
    assert answers(proj) == paid and billed(server) == 0


def test_narrowing_generators_keeps_the_other_modules_answers(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    before = answers(proj)
    proj.edit("pyproject.toml", 'generators = ["gens"]', 'generators = ["gens.cards"]')
    status = proj.doit("status", env=env, check=True).stdout
    assert INVITE not in status and "cards/5" in status and "notes/welcome" not in status
    assert pruned(proj, env) == "doit prune: removed 0 recorded answer(s) no fixture uses; 9 kept"
    assert answers(proj) == before
    proj.edit("pyproject.toml", 'generators = ["gens.cards"]', 'generators = ["gens"]')
    verified(proj, env)
    assert billed(server) == 0


def test_what_no_fixture_uses_is_still_pruned(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    proj.edit("templates/note.j2", "welcome", "warm welcome")
    proj.doit("fixtures", env=env, check=True)
    assert billed(server) == 7
    status = proj.doit("status", env=env, check=True).stdout
    assert f"7 recorded answer(s) in {proj.path('fixtures/.answers')} {INVITE}" in status
    assert pruned(proj, env) == "doit prune: removed 7 recorded answer(s) no fixture uses; 9 kept"
    verified(proj, env)


def test_a_batch_job_prune_cannot_read_stops_it(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    proj.edit("templates/note.j2", "welcome", "warm welcome")
    proj.doit("fixtures", env=env, check=True)
    broken = proj.path("fixtures/.batches/b_0123456789ab.json")
    broken.parent.mkdir()
    broken.write_text('{"format": 1, "items": {')  # truncated
    before = answers(proj)
    assert INVITE not in proj.doit("status", env=env, check=True).stdout
    proc = proj.doit("prune", env=env)
    assert proc.returncode != 0
    assert f"doit prune: {broken} is not a batch job hotdata can read (" in proc.stdout
    assert "nothing was removed: a batch job that cannot be read may need any answer" in proc.stdout
    assert answers(proj) == before and "Traceback" not in proc.stdout + proc.stderr
    broken.unlink()
    assert pruned(proj, env) == "doit prune: removed 7 recorded answer(s) no fixture uses; 9 kept"


def test_prune_between_the_batch_rounds_of_a_dependent_generator_bills_nothing_twice(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server, cards=1, pairs=True)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "1 generated" in proc.stdout and "2 waiting for a batch" in proc.stdout
    assert len(jobs(proj)) == 2  # round 1 collected (its answers wait for round 2), round 2 live
    before = answers(proj)
    assert len(before) == 3
    assert INVITE not in proj.doit("status", env=env, check=True).stdout
    assert pruned(proj, env) == "doit prune: removed 0 recorded answer(s) no fixture uses; 3 kept"
    assert answers(proj) == before

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "2 generated" in proc.stdout
    assert states(proj, env) == {"fresh": 3}
    assert chat(server) == []
    assert_billed_once(server, 5)  # round 1 never billed again
    assert pruned(proj, env) == "doit prune: removed 0 recorded answer(s) no fixture uses; 5 kept"
    record = json.loads(proj.path("fixtures/pairs/0.meta.json").read_text())
    assert len(record["answers"]) == 2
