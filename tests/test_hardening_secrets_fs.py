"""Issue 15, the cases the first hardening tests left out: secrets in variant params, in an
OpenAI-compatible model's configured headers and in a model's answer; a read-only fixtures
directory; a record or pending path that is a directory; an Enum built from a set; stopping
`doit auto` while another build runs; the embedded model's note on patterns it cannot constrain.

Real `doit` subprocesses on temp projects, real HTTP to ``FakeOpenAIServer``, real files.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Output, Project, wait_for_request

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

SECRET = "sk-hotdata-SECRETS-FS-0123456789abcdef"
HEADER_SECRET = "gw-hotdata-HEADER-fedcba9876543210"
FAILED_HEADING = "fixture(s) failed:"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("hotdata: "))


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` (git's included) whose name or bytes hold ``secret``."""
    return [
        str(path)
        for path in root.rglob("*")
        if secret in str(path) or (path.is_file() and secret.encode() in path.read_bytes())
    ]


def pair(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


# ---------------------------------------------------------------- 1. secrets in variant params

VAULT = """
import os

from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture(
    "vault/{slot}",
    schema=Note,
    template="note.j2",
    variants=[{"slot": "named", "token": os.environ["MY_API_KEY"]}],
)
async def vault(ctx: GenerationContext, slot: str, token: str) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title=f"Vault {slot}", body=draft.text)


@fixture(
    "mottos/{slot}",
    schema=Note,
    template="note.j2",
    variants=[{"slot": "plain", "motto": os.environ["MY_API_KEY"]}],
)
async def motto(ctx: GenerationContext, slot: str, motto: str) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title=f"Motto {slot}", body=draft.text)
"""


def test_secret_variant_params_are_never_recorded_printed_or_hashed(project: Project) -> None:
    # `token` is secret by its name; `motto` only because its value is a known secret (MY_API_KEY)
    project.path("gens/vault.py").write_text(VAULT)
    env = {"MY_API_KEY": SECRET}
    build = project.doit("fixtures", env=env, check=True)
    assert "2 generated" in summary(build.stdout)
    assert project.calls() == ["mottos/plain", "vault/named"]
    listing = project.doit("list", "--all", env=env, check=True)
    status = project.doit("status", env=env, check=True)
    status_json = project.doit("status", "--json", env=env, check=True)
    validate = project.doit("validate", env=env, check=True)
    again = project.doit("fixtures", env=env, check=True)  # the masked fingerprint is stable

    assert "token=<secret>" in listing.stdout and "motto=<secret>" in listing.stdout
    for proc in (build, listing, status, status_json, validate, again):
        assert SECRET not in proc.stdout + proc.stderr, proc.args
    assert project.calls() == []
    assert "0 generated" in summary(again.stdout)

    named = json.loads(project.path("fixtures/vault/named.meta.json").read_text())
    plain = json.loads(project.path("fixtures/mottos/plain.meta.json").read_text())
    assert named["fingerprint"]["params"] == {"slot": "named", "token": "<secret>"}
    assert plain["fingerprint"]["params"] == {"slot": "plain", "motto": "<secret>"}
    assert named["answers"] and plain["answers"]  # the answer keys were written, without it
    # records, data, answer store, catalog, doit's database, hotdata's local state, git
    assert files_holding(project.root, SECRET) == []


# ---------------------------------------------------------------- 2. a key in the llm configuration's headers


def test_a_header_key_echoed_by_the_provider_is_redacted_everywhere(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt", headers={"X-Hotdata-Gateway": HEADER_SECRET})
    project = Project.create(tmp_path)
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}
    project.doit("fixtures", env=env, check=True)
    notes = project.path("fixtures/notes")
    before = pair(notes)

    server.inject("echo-headers", 1)
    proc = project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env)
    assert server.requests[-1]["fault"] == "echo-headers"
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "model fake-gpt: HTTP 400" in out
    # the provider's error repeated the configured header; hotdata blanked its value
    assert "x-hotdata-gateway: ***" in out.lower()
    assert HEADER_SECRET not in out
    assert "Traceback" not in out

    failures = json.loads(project.path(".hotdata/failures.json").read_text())
    message = failures["notes/welcome"]["message"]
    assert "x-hotdata-gateway: ***" in message.lower()
    rows = project.status(env)
    assert rows["notes/welcome"]["last_failure"] == message
    status = project.doit("status", env=env, check=True)
    assert HEADER_SECRET not in status.stdout + status.stderr
    assert pair(notes) == before  # the old pair is kept
    assert files_holding(project.root, HEADER_SECRET) == []


# ---------------------------------------------------------------- 3. a secret in a model's answer


def test_a_secret_in_a_model_answer_is_refused_re_asked_and_never_committed(
    project: Project, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    leaked = json.dumps({"text": f"Welcome aboard! The staging key is {SECRET}, keep it close."})
    good = json.dumps({"text": "Welcome aboard, the coffee is in the galley."})
    script.write_text(json.dumps({"[fixture notes/welcome]": [leaked, good]}))
    env = {
        "HOTDATA_MODEL": "hotdata-fake:script",
        "HOTDATA_FAKE_SCRIPT": str(script),
        "MY_API_TOKEN": SECRET,  # a secret hotdata knows: an environment value under a secret name
    }
    refused = "/text contains a secret value (not shown)"

    first = project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
    prompts = [json.loads(line)["prompt"] for line in project.log.read_text().splitlines()]
    assert project.calls() == ["notes/welcome", "notes/welcome"]  # refused, then re-asked
    assert refused in prompts[1] and SECRET not in prompts[1]  # the re-ask says why, not what
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["attempts"] == 2
    assert refused in record["failed_attempts"][0]["reasons"]
    data = json.loads(project.path("fixtures/notes/welcome.json").read_text())
    assert data["body"] == "Welcome aboard, the coffee is in the galley."

    # a model that keeps leaking it: the fixture fails and keeps the pair just written
    notes = project.path("fixtures/notes")
    before = pair(notes)
    script.write_text(json.dumps({"[fixture notes/welcome]": [leaked]}))
    second = project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env)
    assert second.returncode != 0
    assert project.calls() == ["notes/welcome"] * 3
    assert "fixture notes/welcome: ctx.generate at gens/agents.py:" in second.stdout
    assert ": no acceptable answer for Draft" in second.stdout
    assert f"last: {refused}" in second.stdout
    assert pair(notes) == before
    for proc in (first, second):
        assert SECRET not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
    assert files_holding(project.root, SECRET) == []


# ---------------------------------------------------------------- 4. a read-only fixtures directory


@contextlib.contextmanager
def immutable(directory: Path) -> Iterator[None]:
    """``directory`` made read-only even for root (``chattr +i``), writable again afterwards."""
    try:
        subprocess.run(["chattr", "+i", str(directory)], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip(
            "chattr is not installed: root ignores permissions, so nothing else makes a read-only dir"
        )
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"chattr +i failed here ({exc.stderr.strip()}): no read-only directory for root")
    try:
        probe = directory / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("chattr +i did not stop root from writing in the directory on this filesystem")
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=False, capture_output=True)


def test_a_read_only_fixtures_directory_fails_before_any_model_call(project: Project) -> None:
    notes = project.path("fixtures/notes")
    before = pair(notes)
    project.edit("templates/note.j2", "welcome", "warm welcome")
    with immutable(notes):
        proc = project.doit("fixtures")
        after = pair(notes)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    expected = (
        f"fixture notes/welcome: cannot write in {notes.resolve()} (Operation not permitted); nothing was "
        "generated and no model call was made. Make the directory writable"
    )
    assert f"  - notes/welcome: {expected}" in proc.stdout.splitlines()
    assert project.calls() == []
    assert "1 failed" in summary(proc.stdout) and "0 model call(s)" in summary(proc.stdout)
    assert after == before
    assert "Traceback" not in out
    # writable again, the same build goes through
    assert "1 generated" in summary(project.doit("fixtures", check=True).stdout)
    assert project.calls() == ["notes/welcome"]


# ---------------------------------------------------------------- 5. a record or pending path that is a directory


@pytest.mark.parametrize("suffix", [".meta.json", ".meta.json.pending"])
def test_a_record_or_pending_path_that_is_a_directory_fails_alone_before_any_model_call(
    project: Project, suffix: str
) -> None:
    notes = project.path("fixtures/notes")
    data = notes / "welcome.json"
    meta = notes / "welcome.meta.json"
    target = notes / f"welcome{suffix}"
    if target.exists():
        target.unlink()
    target.mkdir()
    old_data, old_meta = data.read_bytes(), None if target == meta else meta.read_bytes()
    project.edit("templates/note.j2", "welcome", "warm welcome")
    project.edit("templates/partials/voice.j2", "vividly", "boldly")  # the agents are rebuilt beside it

    proc = project.doit("fixtures")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    expected = (
        f"fixture notes/welcome: {target.resolve()} is a directory, so the fixture cannot be written "
        "there; remove or rename it"
    )
    assert f"  - notes/welcome: {expected}" in proc.stdout.splitlines()
    assert "2 generated" in summary(proc.stdout) and "1 failed" in summary(proc.stdout)
    assert project.calls() == ["agents/crisis", "agents/deliberating"]  # none for notes/welcome
    assert "Traceback" not in out
    assert data.read_bytes() == old_data and target.is_dir()
    if old_meta is not None:
        assert meta.read_bytes() == old_meta
    assert [p.name for p in project.path("fixtures").rglob("*.tmp")] == []

    rows = project.status()  # nothing else broken: status, validate and the other fixtures
    assert rows["notes/welcome"]["state"] == "stale"
    assert {rows[n]["state"] for n in ("agents/crisis", "agents/deliberating")} == {"fresh"}
    validate = project.doit("validate")
    assert "Traceback" not in validate.stdout + validate.stderr


# ---------------------------------------------------------------- 6. an Enum built from a set

CREW = """
import enum

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

# built from a set: the members come in the set's order, which PYTHONHASHSEED changes
MOODS = {"calm", "eager", "wary", "bold", "shy", "grim", "glad", "keen"}
Mood = enum.Enum("Mood", {mood.upper(): mood for mood in MOODS})


class Crew(BaseModel):
    name: str = Field(max_length=40)
    mood: Mood


@fixture("crew/one", schema=Crew, template="note.j2")
async def crew(ctx: GenerationContext) -> Crew:
    return await ctx.generate(ctx.render())
"""


def mood_order(project: Project, seed: str) -> list[str]:
    code = "import json; from gens.crew import Crew; print(json.dumps(Crew.model_json_schema()))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project._env({"PYTHONHASHSEED": seed}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    order: list[str] = json.loads(proc.stdout)["$defs"]["Mood"]["enum"]
    return order


def test_an_enum_built_from_a_set_keeps_its_schema_hash_across_processes(project: Project) -> None:
    project.path("gens/crew.py").write_text(CREW)
    first, second = mood_order(project, "1"), mood_order(project, "2")
    assert first != second and sorted(first) == sorted(second)  # the schemas really differ

    project.doit("fixtures", env={"PYTHONHASHSEED": "1"}, check=True)
    assert project.calls() == ["crew/one"]
    for seed in ("1", "2"):
        row = project.status(env={"PYTHONHASHSEED": seed})["crew/one"]
        assert (row["state"], row["reason"]) == ("fresh", "up to date"), seed
    proc = project.doit("fixtures", env={"PYTHONHASHSEED": "2"}, check=True)
    assert "0 generated, 4 up to date" in summary(proc.stdout)
    assert "0 model call(s)" in summary(proc.stdout)
    assert project.calls() == []


# ---------------------------------------------------------------- 7. stopping `doit auto` beside another build


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_doit_auto_never_removes_another_builds_temp_files(
    server: FakeOpenAIServer, tmp_path: Path, stop: signal.Signals
) -> None:
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt")
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}
    project = Project.create(tmp_path)
    project.doit("fixtures", env=env, check=True)
    project.edit("templates/note.j2", "welcome", "warm welcome")

    server.hold()  # the other build's model call waits, inside its build, holding the lock
    known = len(server.requests)
    other = project.popen("fixtures", env=env)
    try:
        wait_for_request(server, known + 1)
        # what that build has half-written at this moment (its temp file, until the rename)
        in_flight = project.path("fixtures/notes/.welcome.json.inflight.tmp")
        in_flight.write_text('{"title": "half')
        auto = Output(project.popen("auto", env=env))
        try:
            auto.wait_for("another build holds")  # auto's own build waits for the lock
        finally:
            auto.proc.send_signal(stop)
            auto_out = auto.finish()
        assert auto.proc.returncode == 0, auto_out
        assert "doit auto: stopped" in auto_out
        assert "Traceback" not in auto_out
        assert other.poll() is None  # the other build still runs, inside its model call
        assert in_flight.exists(), "stopping doit auto removed a temp file of a build it does not own"
    finally:
        server.release()
        out, err = other.communicate(timeout=120)
    assert other.returncode == 0, out + err
    assert "Traceback" not in out + err
    assert "1 generated" in summary(out)
    project.doit("validate", env=env, check=True)
    assert {row["state"] for row in project.status(env).values()} == {"fresh"}


# ---------------------------------------------------------------- 8. hotdata-local's note on patterns


LLAMA_NOTE = (
    "{pointer}: pattern {pattern!r} has {construct}, which llama.cpp's grammar cannot express; decoding "
    "leaves the pattern out and validation checks it afterwards, re-asking until an answer matches"
)


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("(?i)^[a-z]{3}$", "the inline flags '(?i)'"),
        ("^(?i:ab)c$", "the inline flags '(?i:'"),
        ("^(?=.*[0-9])[a-z0-9]{8}$", "the lookahead '(?='"),
        ("^(?!admin$)[a-z]+$", "the negative lookahead '(?!'"),
        ("^[a-z]+(?<=x)$", "the lookbehind '(?<='"),
        (r"^[\w.]+$", r"the escape '\w' inside a character class"),
        (r"^([a-z])\1$", r"the backreference '\1'"),
        (r"^\bword$", r"the escape '\b'"),
    ],
)
def test_the_local_model_names_the_pattern_construct_it_cannot_constrain(
    pattern: str, construct: str
) -> None:
    from hotdata.make.embedded import grammar_schema, unsupported_construct

    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}}
    fitted, notes = grammar_schema(schema)
    assert "pattern" not in fitted["properties"]["code"]  # left to validation
    assert notes == [LLAMA_NOTE.format(pointer="/properties/code", pattern=pattern, construct=construct)]
    assert unsupported_construct(pattern) == construct


def test_the_local_model_finds_nothing_to_name_in_patterns_it_can_constrain() -> None:
    from hotdata.make.embedded import grammar_for, grammar_schema, unsupported_construct

    for pattern in ("[A-Z]{3}-[0-9]{4}", r"^\d+\.\d+$", "^(?:ab|cd)+$", "^[]a-z]+$", "^[^]x]$"):
        assert unsupported_construct(pattern) is None, pattern
    assert grammar_schema({"type": "string", "pattern": "^(?:ab|cd)+$"})[1] == []
    # the note comes with the grammar (no model is loaded for that); the model prints it once
    _, notes = grammar_for(
        {"type": "object", "properties": {"vat": {"type": "string", "pattern": "(?i)^[a-z]{2}-vat$"}}}
    )
    assert notes[0].startswith("/properties/vat: pattern '(?i)^[a-z]{2}-vat$' has the inline flags '(?i)'")
