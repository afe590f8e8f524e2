from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Agent, write_fixture

from hotdata import (
    DuplicateFixtureError,
    FixtureState,
    HotData,
    HotDataRegistry,
    InvalidFixtureName,
    SchemaError,
    UnknownFixtureError,
    registry,
)
from hotdata._names import fixture_paths, validate_fixture_name

BAD_NAMES = [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("C:/x", "absolute"),
    ("../secrets", "'..'"),
    ("a/../../b", "'..'"),
    ("a//b", "empty path segment"),
    ("a/", "empty path segment"),
    ("a\\b", "backslash"),
    ("a\x00b", "NUL"),
    ("./a", "'.'"),
    (".hidden/a", "starts with '.'"),
    ("agents/x.json", "'.json' suffix"),
    ("agents/x.meta", "reserves"),
    ("a\nb", "control character"),
]


@pytest.mark.parametrize(("name", "why"), BAD_NAMES)
def test_bad_names_are_rejected_with_reason(name: str, why: str) -> None:
    with pytest.raises(InvalidFixtureName, match="invalid fixture name") as info:
        validate_fixture_name(name)
    assert why in str(info.value)


def test_good_names() -> None:
    for name in ["a", "agent_snapshots/soul_deliberating", "test/deep/nested-name.v2"]:
        assert validate_fixture_name(name) == name


def test_symlink_escape_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(InvalidFixtureName, match="outside the fixtures root"):
        fixture_paths(root, "link/x")
    data, meta = fixture_paths(root, "agents/x")
    assert data == root / "agents" / "x.json"
    assert meta == root / "agents" / "x.meta.json"


def test_registry(tmp_path: Path) -> None:
    reg = HotDataRegistry(tmp_path)
    a = HotData.from_name(tmp_path, "agents/a", Agent)
    b = HotData.from_name(tmp_path, "agents/b", Agent)
    reg.register("agents/a", a)
    reg.register("agents/a", a)  # same handle again: fine
    reg.register("agents/b", b)
    with pytest.raises(DuplicateFixtureError, match="agents/a"):
        reg.register("agents/a", HotData.from_name(tmp_path, "agents/a", Agent))
    with pytest.raises(InvalidFixtureName):
        reg.register("../x", a)
    assert "agents/a" in reg and "agents/c" not in reg
    assert reg.names() == ["agents/a", "agents/b"] == list(reg)
    assert reg.get("agents/b") is b
    with pytest.raises(UnknownFixtureError, match="agents/a, agents/b"):
        reg.get("agents/c")
    write_fixture(a, Agent(id="a", name="A"))
    assert reg.list_stale() == ["agents/b"]
    assert reg.load("agents/a").name == "A"
    assert b.status().state is FixtureState.MISSING


def test_default_registry() -> None:
    assert isinstance(registry, HotDataRegistry)


def test_a_declared_fixture_loads_by_name_from_its_record(tmp_path: Path) -> None:
    write_fixture(HotData.from_name(tmp_path, "agents/ada", Agent), Agent(id="a", name="Ada"))
    reg = HotDataRegistry(tmp_path)
    assert reg.load("agents/ada") == Agent(id="a", name="Ada")  # schema imported from the record
    assert reg.get("agents/ada").schema is Agent
    assert "agents/ada" in reg


def test_a_record_naming_an_unimportable_schema_is_a_clear_error(tmp_path: Path) -> None:
    handle = HotData.from_name(tmp_path, "agents/ada", Agent)
    write_fixture(handle, Agent(id="a", name="Ada"))
    text = handle.meta_path.read_text().replace("conftest:Agent", "no_such_module:Agent")
    handle.meta_path.write_text(text)
    with pytest.raises(SchemaError, match=r"ada\.meta\.json names schema 'no_such_module:Agent'"):
        HotDataRegistry(tmp_path).load("agents/ada")
    handle.meta_path.write_text(text.replace("no_such_module:Agent", "os:system()"))
    with pytest.raises(SchemaError, match="invalid part"):  # a name, never code: nothing is evaluated
        HotDataRegistry(tmp_path).load("agents/ada")
    handle.meta_path.unlink()
    with pytest.raises(UnknownFixtureError, match="no provenance record"):
        HotDataRegistry(tmp_path).load("agents/ada")
