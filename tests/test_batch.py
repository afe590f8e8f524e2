"""Batch mode and adaptive concurrency: real `doit` subprocesses, the fake server over real HTTP.

Batches move only when the test moves them (``hold_batches``, ``advance_batches``,
``expire_batch``); a run is killed on an event the test observes (a file appearing, the
server seeing a request), never after a guessed delay.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from doit_project import Project, fixture_of

from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

CARDS = """
from hotdata.make import fixture

from .schemas import Draft, Note


@fixture("cards/{i}", schema=Note, template="note.j2", variants=[{"i": i} for i in range(COUNT)])
async def card(ctx, i):
    draft = await ctx.generate(ctx.render() + f" (card {i})", Draft)
    return Note(title=f"Card {i}", body=draft.text)


@fixture("pairs/{i}", schema=Note, template="note.j2", variants=[{"i": 0}, {"i": 1}])
async def pair(ctx, i):
    first = await ctx.generate(ctx.render() + f" (pair {i})", Draft)
    # the second request depends on the first answer: it can only be asked in the next round
    second = await ctx.generate(f"[fixture {ctx.name}] Answer this note: {first.text}", Draft)
    return Note(title=f"Pair {i}", body=second.text)
"""

CARDS_ONLY = "\n".join(CARDS.split("\n\n\n")[:2]).rstrip() + "\n"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=7) as srv:
        yield srv


def make_project(tmp_path: Path, server: FakeOpenAIServer, cards: int = 6, pairs: bool = False) -> Project:
    proj = Project.create(tmp_path)
    for name in ("agents.py",):  # only the generators this file declares
        proj.path(f"gens/{name}").unlink()
    source = (CARDS if pairs else CARDS_ONLY).replace("COUNT", str(cards))
    proj.path("gens/cards.py").write_text(source)
    server.write_llm_config(tmp_path / "llm", "fake-gpt")
    return proj


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"LLM_USER_PATH": str(tmp_path / "llm"), "HOTDATA_MODEL": "fake-gpt", **extra}


def chat(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"].endswith("/chat/completions")]


def jobs(proj: Project) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(proj.path("fixtures/.batches").glob("b_*.json"))]


def states(proj: Project, env: dict[str, str]) -> Counter[str]:
    return Counter(row["state"] for row in proj.status(env).values())


def assert_billed_once(server: FakeOpenAIServer, expected: int) -> None:
    billed = [e for e in server.batch_executions if e.billed]
    assert server.batch_requests_billed == expected == len(billed)
    assert max(Counter(e.custom_id for e in server.batch_executions).values(), default=1) == 1
    assert max(Counter(e.body_sha256 for e in billed).values(), default=1) == 1


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Block until ``condition`` holds (an observed event); the timeout only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.01)


def test_submit_report_collect(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server)
    env = env_for(tmp_path)
    server.hold_batches()
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert chat(server) == []  # nothing synchronous
    assert "6 waiting for a batch" in proc.stdout
    [job] = jobs(proj)
    last = proc.stdout.strip().splitlines()[-1]
    assert last == (
        f"batch: submitted 6 request(s) as batch {job['id']} ({job['batch_id']}); "
        "run `doit fixtures` again to collect"
    )
    assert job["status"] == "validating" and len(job["items"]) == 6
    assert {i["fixture"] for i in job["items"].values()} == {f"cards/{i}" for i in range(6)}
    lines = [json.loads(line) for line in server._batches._batches[job["batch_id"]].input_data.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == sorted(job["items"])  # custom_id = request key
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}

    # status polls and reports, collects nothing, writes nothing
    out = proj.doit("status", env=env, check=True).stdout
    assert f"6 request(s) in batch {job['id']} (in_progress, submitted " in out
    assert "waiting for batch " + job["id"] in out
    assert jobs(proj)[0]["status"] == "validating" and not proj.path("fixtures/.answers").exists()

    # a run while the batch is in progress asks nothing again, in batch mode or not
    proc = proj.doit("fixtures", env=env, check=True)
    assert "6 waiting for a batch" in proc.stdout and chat(server) == []
    assert len(jobs(proj)) == 1

    server.hold_batches(False)
    proc = proj.doit("fixtures", env=env, check=True)
    assert "6 generated" in proc.stdout and "6 replayed" in proc.stdout
    assert f"batch: collected 6 of 6 answer(s) from batch {job['id']} (completed)" in proc.stdout
    assert chat(server) == []
    assert_billed_once(server, 6)
    assert states(proj, env) == {"fresh": 6}
    assert jobs(proj) == []  # collected and used: forgotten
    keys = {p.stem for p in proj.path("fixtures/.answers").rglob("*.json")}
    assert keys == set(job["items"])
    record = json.loads(proj.path("fixtures/cards/0.meta.json").read_text())
    assert record["replayed"] == 1 and record["answers"][0] in keys


def test_batch_bodies_are_what_the_synchronous_path_sends(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)
    proj.doit("fixtures", env=env, check=True)
    proj.doit("fixtures", "force=1", "replay=off", env=env, check=True)  # the same requests, synchronously
    assert sorted(r["body_sha256"] for r in chat(server)) == sorted(
        e.body_sha256 for e in server.batch_executions
    )


@pytest.mark.parametrize("moment", ["state file written", "upload sent", "batch create sent", "collecting"])
def test_kill_9_at_any_moment_loses_nothing_and_bills_nothing_twice(
    tmp_path: Path, server: FakeOpenAIServer, moment: str
) -> None:
    proj = make_project(tmp_path, server, cards=5)
    env = env_for(tmp_path)
    batches_dir = proj.path("fixtures/.batches")

    def api_calls(path: str) -> int:
        return sum(1 for r in server.requests if r["method"] == "POST" and r["path"].endswith(path))

    if moment == "collecting":
        proj.doit("fixtures", "batch=1", env=env, check=True)
        event: Callable[[], bool] = lambda: proj.path("fixtures/.answers").exists()  # noqa: E731
    else:
        server.latency = 1.0  # the provider is slow: the run dies with its request in flight
        event = {
            "state file written": lambda: any(batches_dir.glob("b_*.json")),
            "upload sent": lambda: api_calls("/files") > 0,
            "batch create sent": lambda: api_calls("/batches") > 0,
        }[moment]
    run = proj.popen("fixtures", "batch=1", env=env)
    wait_for(event, moment)
    run.send_signal(signal.SIGKILL)
    run.communicate()
    assert run.returncode == -signal.SIGKILL
    if moment == "batch create sent":  # the provider finishes what it was asked before the kill
        listing = openai.OpenAI(base_url=server.url, api_key="test").batches
        wait_for(lambda: len(list(listing.list())) == 1, "the batch being created")
    server.latency = 0.0

    outputs = []
    for _ in range(3):
        proc = proj.doit("fixtures", "batch=1", env=env, check=True)
        outputs.append(proc.stdout)
        if states(proj, env) == {"fresh": 5}:
            break
    assert states(proj, env) == {"fresh": 5}, "\n".join(outputs)
    assert chat(server) == []
    assert_billed_once(server, 5)
    if moment == "batch create sent":
        assert "which the run submitting it did not record" in outputs[0]
        assert len(outputs) == 1
    if moment in ("state file written", "upload sent"):
        assert "was never created (the run submitting it stopped first)" in outputs[0]


def test_failed_items_continue_synchronously(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server)
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    by_fixture = {item["fixture"]: key for key, item in job["items"].items()}
    server.fail_batch_items([by_fixture["cards/1"]], kind="500")
    server.fail_batch_items([by_fixture["cards/2"]], kind="error")
    server.fail_batch_items([by_fixture["cards/3"]], kind="invalid")  # answered 200, fails the schema
    server.hold_batches(False)

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "6 generated" in proc.stdout
    assert f"2 request(s) failed in batch {job['id']}; they are asked synchronously" in proc.stdout
    assert "HTTP 500" in proc.stdout and "server_error" in proc.stdout
    # the failed items once each, and the invalid answer's re-ask (attempt 2 is always synchronous)
    asked = sorted(fixture_of(json.dumps(r)) for r in chat(server))
    assert len(asked) == 3
    assert states(proj, env) == {"fresh": 6}
    assert_billed_once(server, 4)  # 6 items, 2 failed (not billed), the invalid one billed
    records = {i: json.loads(proj.path(f"fixtures/cards/{i}.meta.json").read_text()) for i in range(6)}
    assert records[3]["attempts"] == 2 and records[3]["replayed"] == 1  # the batch answer, then a re-ask
    assert records[1]["replayed"] == 0 and records[0]["replayed"] == 1
    assert jobs(proj) == []
    assert [f"cards/{i}" for i in (1, 2)] == sorted(
        name
        for name, key in by_fixture.items()
        if key not in {e.custom_id for e in server.batch_executions if e.billed}
    )


def test_an_expired_batch_is_resubmitted_once_then_asked_synchronously(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj = make_project(tmp_path, server)
    env = env_for(tmp_path)
    server.hold_batches()
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [first] = jobs(proj)
    openai.OpenAI(base_url=server.url, api_key="test").batches.retrieve(first["batch_id"])  # validated
    assert server.advance_batches(items=2) == 2
    server.expire_batch(first["batch_id"])

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "2 generated" in proc.stdout and "4 waiting for a batch" in proc.stdout
    assert f"collected 2 of 6 answer(s) from batch {first['id']} (expired)" in proc.stdout
    assert (
        f"batch {first['id']} expired with 4 request(s) unfinished; they are resubmitted once" in proc.stdout
    )
    assert f"resubmitted 4 request(s) of batch {first['id']}, which ended unfinished, once" in proc.stdout
    second = next(j for j in jobs(proj) if j["id"] != first["id"])
    assert len(second["items"]) == 4 and {i["resubmitted"] for i in second["items"].values()} == {1}
    assert not set(second["items"]) & {k for k, i in first["items"].items() if i["carry"] == "answered"}
    assert chat(server) == []

    openai.OpenAI(base_url=server.url, api_key="test").batches.retrieve(second["batch_id"])
    server.expire_batch(second["batch_id"])  # expires again, nothing run
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert f"batch {second['id']} expired with 4 resubmitted request(s) unfinished again" in proc.stdout
    assert "asked synchronously" in proc.stdout
    assert len(chat(server)) == 4
    assert states(proj, env) == {"fresh": 6}
    assert_billed_once(server, 2)
    assert jobs(proj) == []


def test_a_dependent_second_call_goes_in_the_next_round(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=1, pairs=True)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [round1] = jobs(proj)
    assert len(round1["items"]) == 3  # cards/0 and the first call of each pair

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "1 generated" in proc.stdout and "2 waiting for a batch" in proc.stdout
    [round2] = [j for j in jobs(proj) if j["id"] != round1["id"]]
    assert sorted(i["fixture"] for i in round2["items"].values()) == ["pairs/0", "pairs/1"]
    first_answers = {
        json.loads(p.read_text())["answer"]["text"]
        for p in proj.path("fixtures/.answers").rglob("*.json")
        if json.loads(p.read_text())["fixture"].startswith("pairs/")
    }
    prompts = [i["request"]["prompt"] for i in round2["items"].values()]
    assert all(any(json.loads(a)["text"] in p for a in first_answers) for p in prompts)

    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    assert "2 generated" in proc.stdout
    assert states(proj, env) == {"fresh": 3}
    assert chat(server) == []
    assert_billed_once(server, 5)


def test_review_mode_and_the_answer_store_on_batch_answers(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=3)
    env = env_for(tmp_path)
    proj.doit("fixtures", "batch=1", env=env, check=True)
    [job] = jobs(proj)
    proc = proj.doit("fixtures", "review=1", env=env, check=True)
    assert "3 fixture(s) pending review: doit review" in proc.stdout
    listing = json.loads(proj.doit("review", "--json", env=env, check=True).stdout)
    assert [row["name"] for row in listing] == ["cards/0", "cards/1", "cards/2"]
    staged = json.loads(proj.path("fixtures/cards/0.meta.json.new").read_text())
    assert staged["answers"][0] in job["items"] and staged["replayed"] == 1
    proj.doit("accept", "--all", env=env, check=True)
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert "(0 model calls)" in proc.stdout
    assert chat(server) == []
    assert_billed_once(server, 3)


def test_the_limiter_converges_under_the_providers_rate_limit(tmp_path: Path) -> None:
    with FakeOpenAIServer(seed=3, rate_limit=10, latency=0.05) as server:
        proj = make_project(tmp_path, server, cards=60)
        proj.edit("pyproject.toml", "concurrency = 4", "concurrency = 16")
        proj.doit("fixtures", env=env_for(tmp_path), check=True)
        requests = chat(server)
        refused = sum(1 for r in requests if r["fault"] == "rate_limited")
        assert len(requests) - refused == 60
        assert refused <= 0.05 * len(requests), f"{refused} of {len(requests)} refused"


def test_doit_generate_asks_at_once_even_in_batch_mode(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=1)
    env = env_for(tmp_path, HOTDATA_BATCH="1")
    proc = proj.doit(
        "generate",
        "--schema",
        "gens.schemas:Draft",
        "--prompt",
        "A draft",
        "--name",
        "adhoc/d",
        env=env,
        check=True,
    )
    assert "generated adhoc/d (1 model call(s))" in proc.stdout
    assert len(chat(server)) == 1 and not proj.path("fixtures/.batches").exists()


SECRET = "sk-hotdata-BATCH-0123456789abcdef"


def test_the_key_comes_from_llm_and_is_never_stored(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj = make_project(tmp_path, server, cards=2)
    server.write_llm_config(tmp_path / "llm", "fake-gpt", api_key_name="acme")
    (tmp_path / "llm" / "keys.json").write_text(json.dumps({"acme": SECRET}))
    env = env_for(tmp_path)
    server.hold_batches()
    proc = proj.doit("fixtures", "batch=1", env=env, check=True)
    stored = [p.read_bytes() for p in proj.path("fixtures").rglob("*") if p.is_file()]
    assert jobs(proj) and all(SECRET.encode() not in data for data in stored)
    server.hold_batches(False)
    proc = proj.doit("fixtures", env=env, check=True)
    assert "2 generated" in proc.stdout and SECRET not in proc.stdout + proc.stderr
    api = [r for r in server.requests if "/files" in r["path"] or "/batches" in r["path"]]
    assert api and all(r["has_auth"] for r in api)  # the key llm resolves for the model
    assert all(SECRET.encode() not in p.read_bytes() for p in proj.path("fixtures").rglob("*") if p.is_file())

    (tmp_path / "llm" / "keys.json").write_text("{}")  # no key: said plainly, the fixtures stay stale
    proj.edit("templates/note.j2", "welcome", "warm welcome")
    proc = proj.doit("fixtures", "batch=1", env={**env, "ACME_API_KEY": ""}, check=True)
    assert "could not submit 2 request(s) of model fake-gpt as a batch" in proc.stdout
    assert "run `doit fixtures batch=1` again" in proc.stdout
