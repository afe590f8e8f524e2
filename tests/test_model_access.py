"""Model access through `llm`'s OpenAI plugin against the fake server: real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project
from pydantic import BaseModel, Field

from hotdata.make import ModelError, RetrySettings
from hotdata.make.models import LlmClient, ModelRequest
from hotdata.testing import FakeOpenAIServer

SECRET = "sk-hotdata-TESTSECRET-0123456789abcdef"


class Card(BaseModel):
    title: str = Field(max_length=40)
    score: int = Field(ge=0, le=10)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(hang_seconds=5) as srv:
        user_dir = tmp_path / "llm"
        srv.write_llm_config(user_dir, "fake-gpt")
        monkeypatch.setenv("LLM_USER_PATH", str(user_dir))
        yield srv


def complete(retries: RetrySettings, **kw: object) -> str:
    client = LlmClient("fake-gpt", retries)
    request = ModelRequest(
        model="fake-gpt", prompt="a card", fixture="cards/a", json_schema=Card.model_json_schema()
    )
    return asyncio.run(client.complete(request)).text


FAST = RetrySettings(max_attempts=4, request_timeout=1.0, backoff_initial=0.01, backoff_max=2.0)


@pytest.mark.parametrize(
    ("kind", "count", "requests"),
    [("429", 2, 3), ("500", 2, 3), ("503", 1, 2), ("drop", 2, 3), ("hang", 1, 2), ("malformed", 1, 2)],
)
def test_transient_faults_are_retried(server: FakeOpenAIServer, kind: str, count: int, requests: int) -> None:
    server.inject(kind, count, retry_after=0.05)
    text = complete(FAST)
    Card.model_validate_json(text)
    assert len(server.requests) == requests
    assert [r["fault"] for r in server.requests] == [kind] * count + [None]


def test_retry_after_is_honoured(server: FakeOpenAIServer) -> None:
    server.inject("429", 1, retry_after=1)
    started = time.monotonic()
    complete(FAST)
    assert time.monotonic() - started >= 1.0
    assert len(server.requests) == 2


def test_auth_failure_is_not_retried(server: FakeOpenAIServer) -> None:
    server.inject("401", 5)
    with pytest.raises(ModelError, match=r"HTTP 401\).*llm keys set"):
        complete(FAST)
    assert len(server.requests) == 1


def test_attempts_are_bounded(server: FakeOpenAIServer) -> None:
    server.inject("500", 10)
    with pytest.raises(ModelError, match=r"gave up after 4 attempt\(s\); last error: HTTP 500"):
        complete(FAST)
    assert len(server.requests) == 4


def test_missing_key_fails_at_once_saying_how_to_set_it(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_dir = tmp_path / "llm-nokey"
    server.write_llm_config(user_dir, "fake-gpt", api_key_name="fakeprovider")
    monkeypatch.setenv("LLM_USER_PATH", str(user_dir))
    with pytest.raises(ModelError, match="llm keys set fakeprovider"):
        complete(FAST)
    assert server.requests == []


def test_unknown_model_says_how_to_add_one(server: FakeOpenAIServer) -> None:
    with pytest.raises(ModelError, match=r"unknown model 'no-such-model'.*llm models"):
        LlmClient("no-such-model")


@pytest.mark.slow
def test_pipeline_through_real_http_keeps_old_files_and_never_leaks_the_key(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    user_dir = tmp_path / "llm-keyed"
    server.write_llm_config(user_dir, "fake-gpt", api_key_name="fakeprovider")
    (user_dir / "keys.json").write_text(json.dumps({"fakeprovider": SECRET}))
    project = Project.create(tmp_path)
    env = {
        "LLM_USER_PATH": str(user_dir),
        "HOTDATA_MODEL": "fake-gpt",
        "MY_SERVICE_API_KEY": SECRET,
    }
    out = project.doit("fixtures", env=env, check=True).stdout
    assert "3 generated" in out
    assert all(r["has_auth"] for r in server.requests)
    data = project.path("fixtures/notes/welcome.json")
    meta = project.path("fixtures/notes/welcome.meta.json")
    before = (data.read_bytes(), meta.read_bytes())

    server.inject("401", 1)
    proc = project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env)
    assert proc.returncode != 0
    assert "HTTP 401" in proc.stdout
    assert (data.read_bytes(), meta.read_bytes()) == before

    for kind in ("invalid", "truncated"):
        server.inject(kind, 1)
        project.doit("fixtures:notes/welcome", "force=1", "replay=off", env=env, check=True)
        assert json.loads(meta.read_text())["attempts"] == 2, kind

    written = [p for p in project.root.rglob("*") if p.is_file() and ".git" not in p.parts]
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in out + proc.stdout + proc.stderr


def test_models_without_schema_support_read_the_schema_in_the_prompt(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotdata.make import FixtureSpec, HotDataConfig
    from hotdata.make.generate import AnswerSource, Asker, Budget, GenerationContext, Tally, TemplateSet
    from hotdata.make.plan import Catalog, InputResolver, Planner

    user_dir = tmp_path / "llm-noschema"
    server.write_llm_config(user_dir, "plain-gpt", supports_schema=False)
    monkeypatch.setenv("LLM_USER_PATH", str(user_dir))
    client = LlmClient("plain-gpt", FAST)
    assert not client.capabilities.supports_schema

    async def gen(ctx: GenerationContext) -> Card:
        result: Card = await ctx.generate("Describe a card.")
        return result

    spec = FixtureSpec(name="cards/plain", generator=gen, schema=Card)
    config = HotDataConfig(root=tmp_path, model="plain-gpt", retries=RetrySettings(validation_attempts=2))
    resolver = InputResolver(config)
    planner = Planner(resolver, catalog=Catalog([spec]))
    plan = planner.plan(spec, planner.status(spec))
    tally = Tally()
    asker = Asker(plan, AnswerSource(plan, client, Budget(), tally), tally)
    ctx = GenerationContext(asker, templates=TemplateSet(tmp_path), adapter=resolver.adapter)
    card = asyncio.run(gen(ctx))
    assert isinstance(card, Card)
    assert ctx.usage.calls == 1 and ctx.usage.output_tokens


def test_fake_server_streams_too(server: FakeOpenAIServer) -> None:
    import openai

    client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)
    schema = Card.model_json_schema()
    stream = client.chat.completions.create(
        model="fake-gpt",
        messages=[{"role": "user", "content": "a card"}],
        response_format={"type": "json_schema", "json_schema": {"name": "output", "schema": schema}},
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    Card.model_validate_json(text)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert server.requests[-1]["stream"] is True
