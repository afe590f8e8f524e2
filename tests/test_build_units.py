from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter

from hotdata.make import ConfigError, load_config
from hotdata.make.generate import extract_json, open_pointer, schema_for_model
from hotdata.make.plan import function_source
from hotdata.testing import fake_from_schema


def test_extract_json_tolerates_fences_and_prose() -> None:
    assert extract_json('{"a": 1}') == '{"a": 1}'
    assert extract_json('Sure! Here it is:\n```json\n{"a": 1}\n```\nEnjoy.') == '{"a": 1}'
    assert extract_json('The answer is {"a": [1, 2]} as requested.') == '{"a": [1, 2]}'
    assert extract_json("no json here") == "no json here"
    # valid JSON then prose, or two values: the first value is the answer
    assert extract_json('{"a": 1}\nThis object describes a card.') == '{"a": 1}'
    assert extract_json('{"a": 1} {"b": 2}') == '{"a": 1}'


def test_open_pointer_names_where_a_cut_off_answer_stopped() -> None:
    assert open_pointer('{"data": [{"embedding": [1.0, 1.0, 1.0') == "/data/0/embedding/2"
    assert open_pointer('{"a": 1, "b": {"c": "some te') == "/b/c"
    assert open_pointer('[1, 2, {"x": [') == "/2/x/0"


def test_the_schema_sent_to_the_model_closes_objects_and_caps_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "content": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "audio": {
                "anyOf": [{"type": "object", "properties": {"id": {"type": "string"}}}, {"type": "null"}]
            },
        },
        "required": ["tags"],
        "additionalProperties": True,
    }
    asked = schema_for_model(schema, 4)
    assert asked["additionalProperties"] is False
    assert asked["properties"]["tags"]["maxItems"] == 4
    # optional text is asked for as text (a small model answers null to everything nullable)
    assert asked["properties"]["content"] == {"type": "string", "maxLength": 400}  # bounded, too
    assert "content" in asked["required"]
    assert "audio" not in asked["properties"]  # other optional fields keep their defaults
    assert schema["additionalProperties"] is True  # the real schema is untouched


def test_a_schema_adapters_json_schema_is_made_once_and_each_caller_gets_its_own() -> None:
    from pydantic import BaseModel

    from hotdata._schema import SchemaAdapter

    class Card(BaseModel):
        title: str
        tags: list[str]

    adapter = SchemaAdapter(Card)
    first = adapter.json_schema()
    assert first is not None
    first["properties"]["tags"]["maxItems"] = 1  # a caller capping arrays in its copy
    second = adapter.json_schema()
    assert second == Card.model_json_schema() and second is not first
    assert "maxItems" not in second["properties"]["tags"]


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


def test_fake_models_are_llm_models_registered_through_the_plugin_hook() -> None:
    from hotdata.make import ModelError
    from hotdata.make.models import ModelRequest, open_model

    plugins = ["hotdata.testing.fake_models"]
    request = ModelRequest(
        model="hotdata-fake", prompt="p", fixture="x", json_schema=Outer.model_json_schema()
    )
    reply = asyncio.run(open_model("hotdata-fake", plugins=plugins).complete(request))
    Outer.model_validate_json(reply.text)
    assert reply.finish_reason == "stop"
    with pytest.raises(ModelError, match="refuses every call"):
        asyncio.run(open_model("hotdata-fake:fail", plugins=plugins).complete(request))
    with pytest.raises(ModelError, match="unknown model 'hotdata-fake:whatever'"):
        open_model("hotdata-fake:whatever", plugins=plugins)
    with pytest.raises(ConfigError, match="no register_models hook"):
        open_model("hotdata-fake", plugins=["json"])


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


def test_build_public_names() -> None:
    import hotdata.make as build
    from hotdata.make import _LAZY  # type: ignore[attr-defined]

    assert sorted(_LAZY) == sorted(build.__all__)
    assert dir(build) == sorted(build.__all__)
    for name in build.__all__:
        assert getattr(build, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = build.nope


def test_redact_hides_environment_secrets_and_bearer_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotdata.make import redact

    monkeypatch.setenv("ACME_API_KEY", "sk-acme-1234567890")
    monkeypatch.setenv("LLM_USER_PATH", "/nonexistent-llm-dir")
    text = redact("failed with key sk-acme-1234567890 and header Authorization: Bearer abcdefghijklmnop")
    assert "sk-acme-1234567890" not in text
    assert "abcdefghijklmnop" not in text
    assert text.count("***") == 2


def test_patterns_are_fitted_to_what_llama_cpp_can_compile() -> None:
    from hotdata.make.embedded import grammar_schema

    def fitted(pattern: str) -> tuple[str | None, int]:
        schema, notes = grammar_schema({"type": "string", "pattern": pattern})
        return schema.get("pattern"), len(notes)

    assert fitted("[A-Z]{3}-[0-9]{4}") == ("^[A-Z]{3}-[0-9]{4}$", 0)  # anchored: a subset of the matches
    assert fitted(r"^\d+\.\d+$") == ("^[0-9]+[.][0-9]+$", 0)  # escapes it would mistranslate
    assert fitted("^(?:ab|cd)+$") == ("^(ab|cd)+$", 0)
    assert fitted("(?i)^abc$") == (None, 1)  # left to validation, and said so
    assert fitted(r"^[\w.]+$") == (None, 1)
    email, _ = grammar_schema({"type": "string", "format": "email"})
    assert email["pattern"].startswith("^[a-z]")  # a format the converter does not know


def test_properties_named_like_keywords_and_enum_members_are_not_schemas() -> None:
    """openai's FineTuningJob has a property called "format": taken for the keyword, it
    failed every attempt with "TypeError: unhashable type: 'dict'"."""
    from hotdata.make.embedded import grammar_schema

    schema = {
        "type": "object",
        "properties": {
            "format": {"type": "string", "format": "email"},
            "pattern": {"type": "string", "pattern": "[A-Z]{3}"},
        },
        "$defs": {"Mode": {"enum": [{"pattern": "(?i)x", "format": "email"}]}},
        "default": {"format": {"type": "string"}},
    }
    fitted, notes = grammar_schema(schema)
    assert notes == []
    assert fitted["properties"]["format"]["pattern"].startswith("^[a-z]")  # the property's own format
    assert fitted["properties"]["pattern"] == {"type": "string", "pattern": "^[A-Z]{3}$"}
    assert fitted["$defs"] == schema["$defs"]  # enum members are data, left as they are
    assert fitted["default"] == schema["default"]


def test_every_docstring_example_of_the_build_side_runs() -> None:
    """Examples in docstrings are documentation that runs: every module of hotdata.make, found by
    walking the package (so a module that moves keeps its examples tested)."""
    import doctest
    import importlib
    import pkgutil

    import hotdata.make as make

    tried, failed = set(), []
    for info in pkgutil.walk_packages(make.__path__, "hotdata.make."):
        if info.name.endswith("__main__"):
            continue  # running it would be the command itself
        result = doctest.testmod(importlib.import_module(info.name))
        if result.attempted:
            tried.add(info.name.rsplit(".", 1)[-1])
        if result.failed:
            failed.append(info.name)
    assert failed == []
    assert {"quality", "_text", "_json_schema", "_leaves", "_limits"} <= tried
