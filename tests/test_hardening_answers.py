"""Issue 21, section 2: the answer store (``fixtures/.answers/``) is untrusted input.

Damaged answer files are named with the way out and never bought again; a recorded
answer refused now says so and why; an answer changed since its fixture was built is
blamed on the store, never committed; a path in the way is found before the model is
paid; a miss never reads the whole store; a build under review stages its answers with
it; an answer that held a secret, or nests 10,000 deep, replays as it was judged.

Real `doit` subprocesses on temp projects, real HTTP to ``FakeOpenAIServer`` (billing is
its request count), the scripted fake model where an exact answer is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project, git

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

ALL = ["agents/crisis", "agents/deliberating", "notes/welcome"]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=11) as srv:
        yield srv


@pytest.fixture
def built(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    """The template project built through the fake server, everything committed in git."""
    proj = Project.create(tmp_path)
    server.write_llm_config(tmp_path / "llm", "fake-gpt")
    env = {"LLM_USER_PATH": str(tmp_path / "llm"), "HOTDATA_MODEL": "fake-gpt"}
    proj.doit("fixtures", env=env, check=True)
    assert billed(server) == 3
    commit_all(proj)
    return proj, env


def commit_all(proj: Project) -> None:
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-qm", "fixtures")


def billed(server: FakeOpenAIServer) -> int:
    """Chat completions the fake server answered since the last look (then forgotten)."""
    count = len([r for r in server.requests if r["path"].endswith("/chat/completions")])
    server.requests.clear()
    return count


def record(proj: Project, name: str, suffix: str = ".meta.json") -> dict[str, Any]:
    return json.loads(proj.path(f"fixtures/{name}{suffix}").read_text())


def answer_path(proj: Project, name: str, index: int = 0) -> Path:
    key = record(proj, name)["answers"][index]
    return proj.path(f"fixtures/.answers/{key[:2]}/{key}.json")


def rel(proj: Project, path: Path) -> str:
    return path.relative_to(proj.root).as_posix()


def pairs(proj: Project) -> dict[str, tuple[bytes, bytes]]:
    return {
        name: (
            proj.path(f"fixtures/{name}.json").read_bytes(),
            proj.path(f"fixtures/{name}.meta.json").read_bytes(),
        )
        for name in ALL
    }


def store(proj: Project) -> dict[str, bytes]:
    root = proj.path("fixtures/.answers")
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def failure_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"  - {name}: "))


def no_traceback(*procs: subprocess.CompletedProcess[str]) -> None:
    for proc in procs:
        assert "Traceback" not in proc.stdout + proc.stderr


# ---------------------------------------------------------------- damaged files


def _conflicted(text: str) -> str:
    """``text`` as git leaves a file both sides of a merge changed (the answer text differs)."""
    ours = text.replace('"text": "', '"text": "ours: ', 1)
    theirs = text.replace('"text": "', '"text": "theirs: ', 1)
    return f"<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> feature\n"


def _with_text(text: str, value: Any) -> str:
    doc = json.loads(text)
    doc["answer"]["text"] = value
    return json.dumps(doc, indent=1)


DAMAGE = {
    "truncated": (lambda t: t[: len(t) // 2], "is damaged (not valid JSON: "),
    "emptied": (lambda t: "", "is damaged (the file is empty)"),
    "conflicted": (_conflicted, "holds merge-conflict markers; keep one side (`git checkout --theirs -- "),
    "text-null": (lambda t: _with_text(t, None), "is damaged (answer.text is null, not a string)"),
    "text-number": (lambda t: _with_text(t, 42), "is damaged (answer.text is 42, not a string)"),
    "text-object": (
        lambda t: _with_text(t, {"text": "hi"}),
        "is damaged (answer.text is an object, not a string)",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_answer_is_named_with_the_way_out_and_never_bought_again(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer, damage: str
) -> None:
    proj, env = built
    path = answer_path(proj, "notes/welcome")
    change, said = DAMAGE[damage]
    path.write_text(change(path.read_text()))
    damaged, before = path.read_bytes(), pairs(proj)
    shown = rel(proj, path)

    for replay in ("auto", "only"):
        proc = proj.doit("fixtures:notes/welcome", "force=1", f"replay={replay}", env=env)
        assert proc.returncode != 0
        line = failure_line(proc.stdout, "notes/welcome")
        assert line.startswith(
            f"  - notes/welcome: fixture notes/welcome: the recorded answer {shown} {said}"
        )
        if damage != "conflicted":
            assert line.endswith(
                f"; restore it with `git checkout -- {shown}`, or delete it to ask the model again (a paid call)"
            )
        assert "never answered" not in proc.stdout
    verify = proj.doit("verify", env=env)
    assert verify.returncode != 0
    assert (
        f"notes/welcome: cannot be rebuilt from recorded answers: fixture notes/welcome: the recorded answer {shown} "
        in verify.stdout
    )
    assert billed(server) == 0  # never a silent paid re-ask
    assert path.read_bytes() == damaged and pairs(proj) == before  # nothing overwritten
    no_traceback(proc, verify)

    git(proj.root, "checkout", "--", shown)  # what the message says resolves it
    proc = proj.doit("verify", env=env, check=True)
    assert "all 3 fixture(s) are what the committed code produces (0 model calls)" in proc.stdout
    path.unlink()  # the other way out: delete it, and the next build asks again (paid, on purpose)
    proc = proj.doit("fixtures:notes/welcome", "force=1", env=env, check=True)
    assert billed(server) == 1 and path.exists()


# ---------------------------------------------------------------- the right reason on a miss

VALIDATOR = '''

from pydantic import field_validator


class Draft(BaseModel):
    """What the model writes for a note; the generator adds the title."""

    text: str = Field(max_length=300)

    @field_validator("text")
    @classmethod
    def _greets(cls, value: str) -> str:
        if "hello" not in value.lower():
            raise ValueError("a welcome note says hello")
        return value
'''


def test_a_recorded_answer_a_validator_now_refuses_is_named_not_the_prompt(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    shown = rel(proj, answer_path(proj, "notes/welcome"))
    schemas = proj.path("gens/schemas.py")
    schemas.write_text(schemas.read_text().split("\n\nclass Draft(BaseModel):")[0] + VALIDATOR)
    for args in (["verify"], ["fixtures:notes/welcome", "replay=only"]):
        proc = proj.doit(*args, env=env)
        assert proc.returncode != 0
        assert (
            f"fixture notes/welcome: replay = only, and the recorded answer to attempt 1 ({shown}) is refused: "
            "at text: Value error, a welcome note says hello; the re-ask that follows it (attempt 2) was never "
            "answered. Rebuild with `doit fixtures` (replay = auto) to ask the model again" in proc.stdout
        )
        assert "the prompt differs" not in proc.stdout and "Your previous answer" not in proc.stdout
        no_traceback(proc)
    assert billed(server) == 0


def test_an_answer_cut_at_the_token_limit_then_a_lost_re_ask_is_named(project_script: Any) -> None:
    proj, env, script = project_script
    script.write_text(
        json.dumps(
            {
                "[fixture notes/welcome]": [
                    {"text": '{"text": "Welcome aboard, the coffee is', "finish_reason": "length"},
                    '{"text": "Welcome aboard, the coffee is in the galley."}',
                ]
            }
        )
    )
    proj.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
    assert proj.calls() == ["notes/welcome", "notes/welcome"]
    cut = rel(proj, answer_path(proj, "notes/welcome", 0))
    answer_path(proj, "notes/welcome", 1).unlink()  # the re-ask's answer is lost (pruned elsewhere)
    proc = proj.doit("verify", env=env)
    assert proc.returncode != 0
    assert (
        f"replay = only, and the recorded answer to attempt 1 ({cut}) is refused: the model stopped at its "
        "token limit" in proc.stdout
    )
    assert "the re-ask that follows it (attempt 2) was never answered" in proc.stdout
    assert "the prompt differs" not in proc.stdout and proj.calls() == []


@pytest.fixture
def project_script(tmp_path: Path) -> tuple[Project, dict[str, str], Path]:
    """The template project's welcome note alone, on the scripted fake model (calls counted
    from its log)."""
    proj = Project.create(tmp_path)
    proj.path("gens/agents.py").write_text(NOTE_ONLY)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"[fixture notes/welcome]": ['{"text": "Welcome aboard."}']}))
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    proj.doit("fixtures", env=env, check=True)
    proj.calls()
    return proj, env, script


NOTE_ONLY = """
from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("notes/welcome", schema=Note, template="note.j2")
async def welcome_note(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title="Welcome aboard", body=draft.text)
"""


# ---------------------------------------------------------------- tampered answers


def test_a_tampered_answer_is_blamed_on_the_store_and_never_committed(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    path = answer_path(proj, "notes/welcome")
    key = path.stem
    assert record(proj, "notes/welcome")["answer_digests"][key].startswith("sha256:")
    doc = json.loads(path.read_text())
    doc["answer"]["text"] = json.dumps({"text": "Tampered: a note nobody asked the model for."})
    path.write_text(json.dumps(doc, indent=1))
    before, shown = pairs(proj), rel(proj, path)
    changed = (
        f"fixture notes/welcome: the recorded answer {shown} is not the one notes/welcome was built from "
        "(the store changed, not the code: edited, merged or asked again since); restore it with "
        f"`git checkout -- {shown}`, or ask the model again with `doit fixtures:notes/welcome force=1 replay=off`"
    )

    verify = proj.doit("verify", env=env)
    assert verify.returncode != 0
    assert f"notes/welcome: the answer store changed, not the code: {changed}" in verify.stdout.splitlines()
    assert "differs from what the code produces (" not in verify.stdout  # not blamed on the code
    forced = proj.doit("fixtures", "force=1", env=env)
    assert forced.returncode != 0
    assert failure_line(forced.stdout, "notes/welcome") == f"  - notes/welcome: {changed}"
    assert "2 generated" in forced.stdout and "0 model call(s), 2 replayed" in forced.stdout
    assert pairs(proj)["notes/welcome"] == before["notes/welcome"]  # the tampered text is not committed
    assert billed(server) == 0
    no_traceback(verify, forced)

    git(proj.root, "checkout", "--", shown)
    assert "(0 model calls)" in proj.doit("verify", env=env, check=True).stdout
    # the code changed, the store did not: said as before
    proj.edit("gens/agents.py", 'title="Welcome aboard"', 'title="Welcome aboard!"')
    verify = proj.doit("verify", env=env)
    assert "notes/welcome: the committed data differs from what the code produces (stale: " in verify.stdout
    assert "the answer store changed" not in verify.stdout and billed(server) == 0


def test_records_from_before_answer_digests_still_read_and_verify(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    for name in ALL:
        meta = proj.path(f"fixtures/{name}.meta.json")
        doc = json.loads(meta.read_text())
        del doc["answer_digests"]
        meta.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    assert {row["state"] for row in proj.status(env).values()} == {"fresh"}
    proc = proj.doit("verify", env=env, check=True)
    assert "all 3 fixture(s) are what the committed code produces (0 model calls)" in proc.stdout
    assert billed(server) == 0


# ---------------------------------------------------------------- fail before paying


def test_an_answer_path_that_is_a_directory_fails_before_the_model_is_paid(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    path = answer_path(proj, "notes/welcome")
    path.unlink()
    path.mkdir()
    before, shown = pairs(proj), rel(proj, path)
    asked = proj.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env)
    assert asked.returncode != 0
    assert failure_line(asked.stdout, "notes/welcome") == (
        f"  - notes/welcome: fixture notes/welcome: {shown} is a directory, so the model's answer could not be recorded there; "
        "remove it (nothing was asked)"
    )
    replayed = proj.doit("fixtures:notes/welcome", "force=1", env=env)
    assert failure_line(replayed.stdout, "notes/welcome") == (
        f"  - notes/welcome: fixture notes/welcome: {shown} is a directory, not a recorded answer; remove it "
        "(the model is asked again on the next build)"
    )
    assert billed(server) == 0 and pairs(proj) == before
    no_traceback(asked, replayed)


@pytest.mark.parametrize("where", ["store", "shard"])
def test_a_store_or_shard_that_is_a_file_fails_before_the_model_is_paid(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer, where: str
) -> None:
    proj, env = built
    key = record(proj, "notes/welcome")["answers"][0]
    blocked = proj.path("fixtures/.answers" if where == "store" else f"fixtures/.answers/{key[:2]}")
    subprocess.run(["rm", "-rf", str(blocked)], check=True)
    blocked.write_text("not a directory\n")
    before = pairs(proj)
    said = (
        f"{rel(proj, blocked)} is a file, not a directory, so no answer can be recorded or replayed; "
        "move it away (nothing was asked)"
    )
    for replay in ("auto", "off"):
        proc = proj.doit("fixtures:notes/welcome", "force=1", f"replay={replay}", env=env)
        assert proc.returncode != 0
        assert (
            failure_line(proc.stdout, "notes/welcome") == f"  - notes/welcome: fixture notes/welcome: {said}"
        )
        no_traceback(proc)
    assert billed(server) == 0 and pairs(proj) == before and blocked.read_text() == "not a directory\n"


# ---------------------------------------------------------------- scale: a miss reads its fixture's answers

COUNT_OPENS = """
import atexit, os, runpy, sys
store = os.path.join(os.getcwd(), "fixtures", ".answers") + os.sep
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(store):
        opened.append(args[0])
sys.addaudithook(hook)
atexit.register(lambda: sys.stderr.write(f"answer files opened: {len(opened)}\\n"))
sys.argv = ["doit", *sys.argv[1:]]
runpy.run_module("doit", run_name="__main__")
"""


def test_a_replay_only_miss_reads_its_own_fixtures_answers_not_the_whole_store(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    sample = json.loads(answer_path(proj, "agents/crisis").read_text())
    others = 20_000
    for i in range(others):  # another family's answers, as a big catalog has them
        key = f"{i:064x}"
        sample["fixture"] = f"family/{i % 500}"
        path = proj.path(f"fixtures/.answers/{key[:2]}/{key}.json")
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(sample))
    proj.edit("templates/note.j2", "welcome", "warm welcome")

    def miss() -> int:
        """One replay = only miss in a real doit process; the answer files it opened."""
        proc = subprocess.run(
            [sys.executable, "-c", COUNT_OPENS, "fixtures:notes/welcome", "replay=only"],
            cwd=proj.root,
            env=proj._env(env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode != 0
        assert (
            "replay = only and this request was never answered; the prompt differs from the recorded one at"
            in proc.stdout
        )
        assert "warm welcome" in proc.stdout
        return int(proc.stderr.rsplit("answer files opened: ", 1)[1].split()[0])

    opened_first = miss()
    opened_second = miss()
    # the first miss indexes the store once; later ones read only notes/welcome's own answer
    assert opened_first <= others + 10
    assert opened_second <= 3
    assert proj.path(".hotdata/answers-index.json").exists()
    assert billed(server) == 0


# ---------------------------------------------------------------- a staged build's answers are staged with it


def staged_answers(proj: Project) -> list[str]:
    return sorted(p.name for p in proj.path("fixtures/.answers").rglob("*.json.new"))


def test_reject_drops_a_staged_builds_answers_and_the_store_stays_as_committed(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    committed, before = store(proj), pairs(proj)
    server.seed = 12  # the model answers differently now
    proc = proj.doit("fixtures", "force=1", "replay=off", "review=1", env=env, check=True)
    assert "3 fixture(s) pending review: doit review" in proc.stdout and billed(server) == 3
    keys = {record(proj, name)["answers"][0] for name in ALL}
    assert {record(proj, name, ".meta.json.new")["answers"][0] for name in ALL} == keys  # the same requests
    assert staged_answers(proj) == sorted(f"{k}.json.new" for k in keys)
    assert {k: v for k, v in store(proj).items() if not k.endswith(".new")} == committed  # untouched

    proc = proj.doit("reject", "--all", env=env, check=True)
    assert proc.stdout.count("rejected ") == 3
    assert store(proj) == committed and pairs(proj) == before
    verify = proj.doit("verify", env=env, check=True)
    assert "all 3 fixture(s) are what the committed code produces (0 model calls)" in verify.stdout
    forced = proj.doit("fixtures", "force=1", env=env, check=True)
    assert "3 generated" in forced.stdout and "0 model call(s), 3 replayed" in forced.stdout
    assert {n: p[0] for n, p in pairs(proj).items()} == {n: p[0] for n, p in before.items()}  # committed text
    assert billed(server) == 0


def test_accept_keeps_a_staged_builds_answers_and_verify_passes(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    committed = store(proj)
    server.seed = 12
    proj.doit("fixtures", "force=1", "replay=off", "review=1", env=env, check=True)
    staged = {name: proj.path(f"fixtures/{name}.json.new").read_bytes() for name in ALL}
    assert billed(server) == 3

    proj.doit("accept", "notes/welcome", env=env, check=True)
    proj.doit("reject", "agents/crisis", "agents/deliberating", env=env, check=True)
    accepted = answer_path(proj, "notes/welcome")
    assert staged_answers(proj) == []
    assert accepted.read_bytes() != committed[rel(proj, accepted).split("/", 2)[2]]  # the accepted answer
    assert proj.path("fixtures/notes/welcome.json").read_bytes() == staged["notes/welcome"]
    for name in ("agents/crisis", "agents/deliberating"):
        path = answer_path(proj, name)
        assert path.read_bytes() == committed[rel(proj, path).split("/", 2)[2]]
    verify = proj.doit("verify", env=env, check=True)
    assert "all 3 fixture(s) are what the committed code produces (0 model calls)" in verify.stdout
    status = proj.doit("status", env=env, check=True).stdout
    assert "no fixture uses" not in status  # the replaced answer went; nothing is left to prune
    assert "removed 0 recorded answer(s)" in proj.doit("prune", env=env, check=True).stdout
    assert billed(server) == 0


# ---------------------------------------------------------------- redaction and replay

SECRET = "sk-hotdata-ANSWERS-21-0123456789abcdef"


def test_an_answer_that_held_a_secret_replays_as_it_was_judged(project_script: Any) -> None:
    proj, env, script = project_script
    env = {**env, "MY_API_TOKEN": SECRET}
    leaked = json.dumps({"text": f"Welcome aboard! The staging key is {SECRET}, keep it close."})
    good = json.dumps({"text": "Welcome aboard, the coffee is in the galley."})
    script.write_text(json.dumps({"[fixture notes/welcome]": [leaked, good]}))
    proj.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
    assert proj.calls() == ["notes/welcome", "notes/welcome"]
    first = json.loads(answer_path(proj, "notes/welcome", 0).read_text())["answer"]
    assert first["redacted"] is True and SECRET not in first["text"] and "***" in first["text"]
    assert first["refused"] == ["/text contains a secret value (not shown)"]
    data = proj.path("fixtures/notes/welcome.json").read_bytes()

    # an untouched checkout, another machine (the secret unknown there): the same path, the same data
    for extra in ({"HOTDATA_OFFLINE": "1"}, {"HOTDATA_OFFLINE": "1", "MY_API_TOKEN": ""}):
        proc = proj.doit("verify", env={**env, **extra}, check=True)
        assert "all 1 fixture(s) are what the committed code produces (0 model calls)" in proc.stdout
    proc = proj.doit("fixtures:notes/welcome", "force=1", env=env, check=True)
    assert "0 model call(s), 2 replayed" in proc.stdout
    assert proj.path("fixtures/notes/welcome.json").read_bytes() == data and proj.calls() == []
    assert all(SECRET.encode() not in p.read_bytes() for p in proj.root.rglob("*") if p.is_file())


DEEP = "[" * 10_000 + "]" * 10_000


def test_an_answer_nested_10000_deep_is_refused_and_re_asked_never_blamed_on_the_generator(
    project_script: Any,
) -> None:
    proj, env, script = project_script
    good = json.dumps({"text": "Welcome aboard, the coffee is in the galley."})
    script.write_text(json.dumps({"[fixture notes/welcome]": [DEEP, good]}))
    proc = proj.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
    assert proj.calls() == ["notes/welcome", "notes/welcome"]
    reasons = record(proj, "notes/welcome")["failed_attempts"][0]["reasons"]
    assert reasons == ["at (root): Invalid JSON: recursion limit exceeded at line 1 column 202"]
    replayed = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert "(0 model calls)" in replayed.stdout and proj.calls() == []

    script.write_text(json.dumps({"[fixture notes/welcome]": [DEEP]}))  # a model that keeps doing it
    proc = proj.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env)
    assert proc.returncode != 0
    line = failure_line(proc.stdout, "notes/welcome")
    assert line.startswith("  - notes/welcome: fixture notes/welcome: ctx.generate at gens/agents.py:")
    assert ": no acceptable answer for Draft in 3 attempt(s); " in line
    assert "recursion limit exceeded" in line and "RecursionError" not in proc.stdout
    assert "generator welcome_note raised" not in proc.stdout
    no_traceback(proc)


def test_reject_drops_a_staged_answer_that_is_word_for_word_the_committed_one(
    built: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = built
    committed = store(proj)
    # the model answers exactly as before: each staged answer is a copy of a committed one
    proc = proj.doit("fixtures", "force=1", "replay=off", "review=1", env=env, check=True)
    assert "3 fixture(s) pending review: doit review" in proc.stdout and billed(server) == 3
    assert len(staged_answers(proj)) == 3
    for path in proj.path("fixtures/.answers").rglob("*.json.new"):
        twin = path.with_name(path.name.removesuffix(".new"))
        assert (
            json.loads(path.read_text())["answer"]["text"] == json.loads(twin.read_text())["answer"]["text"]
        )

    proj.doit("reject", "--all", env=env, check=True)
    assert staged_answers(proj) == []
    assert store(proj) == committed
    status = proj.doit("status", env=env, check=True).stdout
    assert "no fixture uses" not in status
    verify = proj.doit("verify", env=env, check=True)
    assert "all 3 fixture(s) are what the committed code produces (0 model calls)" in verify.stdout
