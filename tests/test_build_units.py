from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter

from hotdata.make import ConfigError, extract_json, load_config
from hotdata.make._fingerprint import function_source
from hotdata.testing import FakeModelClient, fake_from_schema


def test_extract_json_tolerates_fences_and_prose() -> None:
    assert extract_json('{"a": 1}') == '{"a": 1}'
    assert extract_json('Sure! Here it is:\n```json\n{"a": 1}\n```\nEnjoy.') == '{"a": 1}'
    assert extract_json('The answer is {"a": [1, 2]} as requested.') == '{"a": [1, 2]}'
    assert extract_json("no json here") == "no json here"


def test_function_source_ignores_decorators_and_line_endings() -> None:
    def deco(fn: Any) -> Any:
        return fn

    @deco
    def one() -> int:
        return 1

    src = function_source(one)
    assert src.startswith("def one()")
    assert "\r" not in src


class Deep(BaseModel):
    kind: Literal["a", "b"]
    score: float = Field(ge=0, le=1)
    count: int = Field(ge=1, le=5)
    tags: list[str] = Field(min_length=2, max_length=4)
    when: datetime
    note: str | None = Field(default=None, max_length=10)


class Outer(BaseModel):
    items: list[Deep]
    label: str = Field(min_length=5, max_length=12)


@pytest.mark.parametrize("seed", range(20))
def test_fake_from_schema_is_valid_and_deterministic(seed: int) -> None:
    schema = Outer.model_json_schema()
    value = fake_from_schema(schema, seed)
    Outer.model_validate(value)
    assert fake_from_schema(schema, seed) == value
    TypeAdapter(list[int]).validate_python(
        fake_from_schema({"type": "array", "items": {"type": "integer"}}, seed)
    )


def test_fake_client_modes() -> None:
    from hotdata.make import ModelError, ModelRequest

    request = ModelRequest(
        model="hotdata-fake", prompt="p", fixture="x", json_schema=Outer.model_json_schema()
    )
    reply = asyncio.run(FakeModelClient().complete(request))
    Outer.model_validate_json(reply.text)
    with pytest.raises(ModelError, match="refuses every call"):
        asyncio.run(FakeModelClient(mode="fail").complete(request))
    with pytest.raises(ModelError, match="unknown fake model mode"):
        FakeModelClient.from_model_id("hotdata-fake:whatever")


def write_pyproject(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.hotdata]\n{body}\n")
    return tmp_path


def test_config_defaults_and_env_overrides(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, 'model = "gpt-4o-mini"\nconcurrency = 3\nttl = "7d"')
    config = load_config(root, environ={})
    assert (config.model, config.concurrency, config.ttl, config.fixtures_dir) == (
        "gpt-4o-mini",
        3,
        "7d",
        "fixtures",
    )
    config = load_config(root, environ={"HOTDATA_MODEL": "claude", "HOTDATA_OFFLINE": "1"})
    assert config.model == "claude" and config.offline


@pytest.mark.parametrize(
    ("body", "env", "message"),
    [
        ("modle = 'x'", {}, "unknown key 'modle' in [tool.hotdata]"),
        ("concurrency = 0", {}, "concurrency"),
        ("ttl = 'sometimes'", {}, "is not a duration"),
        ("[tool.hotdata.retries]\nmax_attemps = 3", {}, "unknown key 'retries.max_attemps'"),
        ("", {"HOTDATA_MODLE": "x"}, "unknown environment variable HOTDATA_MODLE"),
        ("", {"HOTDATA_CONCURRENCY": "many"}, "concurrency"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, body: str, env: dict[str, str], message: str) -> None:
    root = write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(root, environ=env)
    assert message in str(info.value)
    assert "pyproject.toml" in str(info.value) or "HOTDATA_" in str(info.value)


def test_checker_ttl_with_controlled_clock(tmp_path: Path) -> None:
    from hotdata import FixtureState, HotData
    from hotdata.make import FixtureSpec, FreshnessChecker, HotDataConfig

    class Note(BaseModel):
        title: str

    async def gen(ctx: Any) -> Note:
        return Note(title="t")

    spec = FixtureSpec(name="notes/a", generator=gen, schema=Note, ttl="1d")
    config = HotDataConfig(root=tmp_path, model="hotdata-fake")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    checker = FreshnessChecker(config, now=now)
    handle = HotData(tmp_path / "fixtures/notes/a.json", Note, name="notes/a", clock=lambda: now)
    handle.save(Note(title="t"), fingerprint=checker.fingerprint(spec, {}))
    assert checker.check(spec).state is FixtureState.FRESH
    later = FreshnessChecker(config, now=now + timedelta(days=3))
    report = later.check(spec)
    assert (report.state, report.reason) == (FixtureState.STALE, "ttl 1d expired 2d ago")
    record = json.loads((tmp_path / "fixtures/notes/a.meta.json").read_text())
    assert record["fingerprint"]["model"] == "hotdata-fake"


def test_build_public_names() -> None:
    import hotdata.make as build

    assert dir(build) == sorted(build.__all__)
    for name in build.__all__:
        assert getattr(build, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = build.nope


def test_redact_hides_environment_secrets_and_bearer_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotdata.make._secrets import redact

    monkeypatch.setenv("ACME_API_KEY", "sk-acme-1234567890")
    monkeypatch.setenv("LLM_USER_PATH", "/nonexistent-llm-dir")
    text = redact("failed with key sk-acme-1234567890 and header Authorization: Bearer abcdefghijklmnop")
    assert "sk-acme-1234567890" not in text
    assert "abcdefghijklmnop" not in text
    assert text.count("***") == 2
