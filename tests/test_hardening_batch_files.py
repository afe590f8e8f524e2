"""Batch job files are untrusted input: real `doit` subprocesses, the fake server over real HTTP.

A file under ``fixtures/.batches/`` is committed, merged, hand-edited and conflicted like any
other. Whatever it holds, nothing is billed twice, no paid answer is lost, no id read from it
touches a path, no secret is written into it, and the user is told in one line what happened
and what to do.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from test_batch import assert_billed_once, chat, env_for, jobs, make_project, states

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=7) as srv:
        yield srv


def provider(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="test")


def batches_created(server: FakeOpenAIServer) -> int:
    return len(list(provider(server).batches.list()))


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def line_with(out: str, text: str) -> str:
    [line] = [line for line in out.splitlines() if text in line]
    return line


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    """Nothing of hotdata's surfaces as a traceback (the interpreter's own noise at exit, an event
    loop collected after its self-pipe, is not hotdata's code and is left out)."""
    assert "Traceback" not in proc.stdout, proc.stdout
    assert "/hotdata/" not in proc.stderr, proc.stderr


# -- damaged job files: found at the provider by the local id in the file name -------------


def _conflicted(text: str) -> str:
    """The file as git leaves it after a conflicting merge of its status line."""
    lines = text.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if '"status": ' in line)
    theirs = lines[i].replace('"validating"', '"collected"')
    return "".join(
        [*lines[:i], "<<<<<<< HEAD\n", lines[i], "=======\n", theirs, ">>>>>>> theirs\n", *lines[i + 1 :]]
    )


def _with(field: str, value: object) -> Callable[[str], str]:
    def edit(text: str) -> str:
        doc = json.loads(text)
        if field == "items key":
            key = next(iter(doc["items"]))
            doc["items"][str(value)] = doc["items"].pop(key)
        elif field == "fixture":
            doc["items"][next(iter(doc["items"]))]["fixture"] = value
        else:
            doc[field] = value
        return json.dumps(doc, indent=1)

    return edit


# damage -> (what the file becomes, why hotdata says it cannot read it)
DAMAGE: dict[str, tuple[Callable[[str], str], str]] = {
    "an array": (lambda text: "[]\n", "it holds an array, not a job object"),
    "null": (lambda text: "null\n", "it holds null, not a job object"),
    "items as an array": (_with("items", []), "field items: Input should be an object (it is [])"),
    "a numeric submitted_at": (
        _with("submitted_at", 1700000000),
        "field submitted_at: Input should be a valid datetime (it is 1700000000)",
    ),
    "truncated": (lambda text: text[: len(text) // 2], "it is not valid JSON ("),
    "merge-conflicted": (_conflicted, "it holds merge-conflict markers (line "),
    # ids and names read from the file become paths (the job file's, an answer's) and URLs
    "an id that climbs into fixtures/": (_with("id", "../agents/victim"), "field id: String should match"),
    "an id that climbs out of the project": (
        _with("id", "../../../outside"),
        "field id: String should match",
    ),
    "a request key that climbs": (
        _with("items key", "../../agents/victim"),
        "field items: key '../../agents/victim': String should match",
    ),
    "a fixture name that climbs": (_with("fixture", "../agents/victim"), "it contains a '..' segment"),
    "a batch id that climbs": (_with("batch_id", "../files/x"), "field batch_id: String should match"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_job_file_is_found_at_the_provider_and_nothing_is_billed_twice(
    tmp_path: Path, server: FakeOpenAIServer, damage: str
) -> None:
    proj = make_project(tmp_path, server, cards=4)
    victim = proj.path("fixtures/agents/victim.json")
    victim.parent.mkdir(parents=True)
    victim.write_text('{"hand": "written"}\n')
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    path = proj.path(f"fixtures/.batches/{job['id']}.json")
    make, reason = DAMAGE[damage]
    damaged = make(path.read_text())
    path.write_text(damaged)

    status = proj.doit("status", env=env)
    no_traceback(status)
    assert status.returncode == 0
    line = line_with(status.stdout, str(path))
    assert line.startswith(f"{path} is not a batch job hotdata can read (") and reason in line
    assert line.endswith(
        "repair the file (resolve its merge conflict or `git checkout` it) or remove it "
        "(its requests are then asked again)"
    )

    # its batch still runs: found by its metadata, as after a kill; nothing is asked again
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    no_traceback(proc)
    assert "0 generated" in proc.stdout and "4 waiting for a batch" in proc.stdout
    found = line_with(proc.stdout, "found its batch")
    assert found.startswith(f"batch: {path} is not a batch job hotdata can read (") and reason in found
    assert found.endswith(
        f"found its batch {job['batch_id']} (in_progress) at the provider by its metadata: its 4 request(s) "
        "wait for it, none is asked again. Repair the file (resolve its merge conflict or `git checkout` it) "
        "so that `doit fixtures` collects it as usual; meanwhile each run looks it up"
    )
    assert chat(server) == [] and batches_created(server) == 1
    assert path.read_text() == damaged  # the user's file: left for them to repair or remove

    # it finishes: its answers are recorded as their fixtures ask for them, and built
    server.hold_batches(False)
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "4 generated" in proc.stdout and "4 replayed" in proc.stdout
    assert (
        last_line(proc.stdout) == f"batch: every answer of batch {job['batch_id']} is recorded: remove {path}"
    )
    assert states(proj, env) == {"fresh": 4}
    assert chat(server) == [] and batches_created(server) == 1
    assert_billed_once(server, 4)
    assert len(list(proj.path("fixtures/.answers").rglob("*.json"))) == 4
    # no id from the file touched a path
    assert victim.read_text() == '{"hand": "written"}\n'
    assert not (tmp_path / "outside.json").exists() and path.read_text() == damaged
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_job_file_whose_batch_cannot_be_found_holds_what_it_may_hold(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    path = proj.path("fixtures/.batches/b_0123456789ab.json")
    path.parent.mkdir(parents=True)
    path.write_text('{"format": 1, "id": "b_0123456789ab", "model": "fake-gpt", "items": {')
    expected = (
        f"batch: {path} is not a batch job hotdata can read (it is not valid JSON (Expecting property name "
        "enclosed in double quotes at line 1; truncated?)) and no batch of job b_0123456789ab was found "
        f"(none at {server.url}); no request it may hold is asked, in a batch or not, while it is there "
        "(fixtures of model fake-gpt wait): repair it (resolve its merge conflict or `git checkout` it) or "
        "remove it (its requests are then asked again, and billed twice if its batch still runs)"
    )
    for mode in (["batch=1"], []):  # neither submitted nor asked synchronously
        proc = proj.doit("fixtures", *mode, env=env, check=True)
        assert "0 generated" in proc.stdout and "3 waiting for a batch" in proc.stdout
        assert last_line(proc.stdout) == expected
        assert chat(server) == [] and batches_created(server) == 0
    assert path.exists()

    path.unlink()  # the way out the line names
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "submitted 3 request(s) as batch" in last_line(proc.stdout)
    proj.doit("fixtures", env=env, check=True)
    assert states(proj, env) == {"fresh": 3}
    assert chat(server) == []
    assert_billed_once(server, 3)


def test_a_saved_batch_id_of_another_job_is_not_trusted(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    # another job's batch (a teammate's, say) with a request of its own
    other_file = provider(server).files.create(
        file=(
            "other.jsonl",
            (
                json.dumps(
                    {
                        "custom_id": "x" * 8,
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]},
                    }
                )
                + "\n"
            ).encode(),
        ),
        purpose="batch",
    )
    other = provider(server).batches.create(
        input_file_id=other_file.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"hotdata_batch": "b_aaaaaaaaaaaa"},
    )
    path = proj.path(f"fixtures/.batches/{job['id']}.json")
    path.write_text(path.read_text().replace(job["batch_id"], other.id))

    server.hold_batches(False)
    proc = proj.doit("fixtures", env=env, check=True)
    assert (
        f"batch: {path} names batch {other.id}, which the provider says is job b_aaaaaaaaaaaa's, not "
        f"{job['id']}'s; its own batch is looked for by its metadata" in proc.stdout
    )
    assert f"collected 3 of 3 answer(s) from batch {job['id']} (completed)" in proc.stdout
    assert "3 generated" in proc.stdout and chat(server) == []
    billed = {e.batch_id for e in server.batch_executions if e.billed}
    assert billed == {job["batch_id"], other.id}  # the other job's own request only ran in its own batch
    assert sum(e.batch_id == job["batch_id"] for e in server.batch_executions) == 3
    assert jobs(proj) == []


def test_an_endpoint_read_from_a_job_file_never_gets_the_key(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server, cards=2)
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    path = proj.path(f"fixtures/.batches/{job['id']}.json")
    with FakeOpenAIServer(seed=1) as elsewhere:
        path.write_text(path.read_text().replace(job["endpoint"], elsewhere.url))
        for _ in range(2):
            proc = proj.doit("fixtures", "batch=1", env=env, check=True)
            assert "2 waiting for a batch" in proc.stdout
            assert last_line(proc.stdout) == (
                f"batch: could not poll batch {job['id']} (ModelError: its batch went to {elsewhere.url}, but "
                f"model fake-gpt is configured for {server.url}; hotdata sends the model's key to its "
                "configured endpoint only: point the model back at that endpoint to collect the batch, or "
                "remove the job file); its 2 request(s) keep waiting"
            )
        assert elsewhere.requests == []
    assert chat(server) == [] and batches_created(server) == 1


# -- a batch the provider no longer has -------------------------------------------------------


def test_a_batch_the_provider_no_longer_has_is_asked_again_once(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [first] = jobs(proj)
    server.forget_batch(first["batch_id"])

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "3 waiting for a batch" in proc.stdout
    gone = line_with(proc.stdout, "no longer has")
    assert gone.startswith(f"batch: the provider no longer has batch {first['id']} ({first['batch_id']}; ")
    assert "HTTP 404" in gone
    assert gone.endswith("); of its 3 request(s), 3 are asked again, once, in this run's batch")
    [second] = [j for j in jobs(proj) if j["id"] != first["id"]]
    assert {i["resubmitted"] for i in second["items"].values()} == {1} and set(second["items"]) == set(
        first["items"]
    )

    server.forget_batch(second["batch_id"])  # gone again: not a third batch, asked synchronously
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    gone = line_with(proc.stdout, "no longer has")
    assert gone.endswith("); of its 3 request(s), 3 already asked again once are asked synchronously")
    assert "3 generated" in proc.stdout and len(chat(server)) == 3
    assert states(proj, env) == {"fresh": 3}
    assert batches_created(server) == 0 and server.batch_requests_billed == 0
    assert jobs(proj) == []


def test_an_output_file_the_provider_no_longer_has_is_said_and_asked_again_once(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    done = provider(server).batches.retrieve(job["batch_id"])  # it completes: billed
    assert done.status == "completed" and done.output_file_id
    provider(server).files.delete(done.output_file_id)

    proc = proj.doit("fixtures", env=env, check=True)
    lost = line_with(proc.stdout, "no longer has")
    assert lost.startswith(f"batch: the provider no longer has its output file {done.output_file_id} (")
    assert lost.endswith(
        f") of batch {job['id']}: the answers or errors of 3 request(s) are lost (answers in it were billed); "
        "3 are asked again, once, synchronously"
    )
    assert "3 generated" in proc.stdout and len(chat(server)) == 3
    assert_billed_once(server, 3)
    assert states(proj, env) == {"fresh": 3} and jobs(proj) == []


# -- secrets ----------------------------------------------------------------------------------

SECRET = "sk-hotdata-PROMPT-0123456789abcdef"

KEYED = """
import os

from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("keyed/{i}", schema=Note, template="keyed.j2", variants=[{"i": i} for i in range(3)])
async def keyed(ctx, i):
    draft = await ctx.generate(ctx.render(token=os.environ["ACME_API_KEY"], i=i), Draft)
    return Note(title=f"Keyed {i}", body=draft.text)
"""


def test_a_key_in_a_prompt_never_reaches_a_job_file(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=1)
    proj.path("gens/cards.py").write_text(KEYED)
    proj.path("templates/keyed.j2").write_text(
        "[fixture {{ fixture_name }}]\nWrite note {{ i }} for the service whose key is {{ token }}.\n"
    )
    env = env_for(tmp_path, ACME_API_KEY=SECRET)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    text = proj.path(f"fixtures/.batches/{job['id']}.json").read_text()
    assert SECRET not in text and "whose key is ***." in text
    sent = provider(server).files.content(job["input_file_id"]).text
    assert SECRET in sent  # the provider gets the request as the synchronous path sends it

    server.hold_batches(False)
    proc = proj.doit("fixtures", env=env, check=True)
    assert "3 generated" in proc.stdout and "3 replayed" in proc.stdout
    assert chat(server) == []  # the redacted job file still brings every answer: none bought twice
    assert_billed_once(server, 3)
    assert SECRET not in proc.stdout + proc.stderr
    assert all(SECRET.encode() not in p.read_bytes() for p in proj.path("fixtures").rglob("*") if p.is_file())


# -- prune between the rounds of a dependent generator -------------------------------------------


def test_prune_keeps_the_answers_of_a_pending_batch_round(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=1, pairs=True)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)  # round 1 of the pairs, and the card
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)  # round 1 collected, round 2 submitted
    assert "1 generated" in proc.stdout and "2 waiting for a batch" in proc.stdout
    answers = sorted(p.stem for p in proj.path("fixtures/.answers").rglob("*.json"))
    assert len(answers) == 3

    status = proj.doit("status", env=env, check=True)
    assert "no fixture uses" not in status.stdout  # no invitation to a prune that would cost money
    proc = proj.doit("prune", env=env, check=True)
    assert last_line(proc.stdout) == "doit prune: removed 0 recorded answer(s) no fixture uses; 3 kept"
    assert sorted(p.stem for p in proj.path("fixtures/.answers").rglob("*.json")) == answers

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "2 generated" in proc.stdout
    assert states(proj, env) == {"fresh": 3}
    assert chat(server) == []
    assert_billed_once(server, 5)  # round 1 never billed again
