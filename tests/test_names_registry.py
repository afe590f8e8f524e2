from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Agent

from hotdata import (
    DuplicateFixtureError,
    FixtureState,
    HotData,
    HotDataRegistry,
    InvalidFixtureName,
    UnknownFixtureError,
    fixture_paths,
    hotdata_registry,
    registry,
    validate_fixture_name,
)

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
    reg = HotDataRegistry()
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
    a.save(Agent(id="a", name="A"))
    assert reg.list_stale() == ["agents/b"]
    assert reg.load("agents/a").name == "A"
    assert b.status().state is FixtureState.MISSING


def test_default_registry_alias() -> None:
    assert hotdata_registry is registry
    assert isinstance(registry, HotDataRegistry)
