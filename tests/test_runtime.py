from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Agent, Connection, write_fixture
from pydantic import BaseModel, PrivateAttr, field_validator
from typing_extensions import TypedDict

import hotdata
from hotdata import (
    FixtureInvalidError,
    FixtureMissingError,
    FixtureState,
    HotData,
    HotDataError,
    HotDataWarning,
)
from hotdata._provenance import PROVENANCE_FORMAT

AGENT = Agent(id="a1", name="Ada", tags=["x"], connections=[Connection(target="b", strength=0.5)])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_public_names_are_exactly_all() -> None:
    from hotdata import _LAZY  # type: ignore[attr-defined]

    # every lazily imported name is public and every public name is importable, nothing more
    assert sorted([*_LAZY, "__version__"]) == sorted(hotdata.__all__)
    assert sorted(hotdata.__all__) == sorted(set(hotdata.__all__))
    assert sorted(hotdata.__all__) == dir(hotdata)
    for name in hotdata.__all__:
        assert getattr(hotdata, name) is not None
    star: dict[str, object] = {}
    exec("from hotdata import *", star)
    assert sorted(k for k in star if k != "__builtins__") == sorted(hotdata.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = hotdata.nope


def test_import_is_light() -> None:
    heavy = ["doit", "jinja2", "tenacity", "watchfiles", "llm", "openai", "rich", "textual", "llama_cpp"]
    code = f"import sys, hotdata; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_save_writes_canonical_json_and_provenance(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "agents" / "ada.json", Agent, name="agents/ada")
    record = write_fixture(fx, AGENT)
    raw = (tmp_path / "agents" / "ada.json").read_bytes()
    assert raw.endswith(b"}\n")
    assert raw == (json.dumps(json.loads(raw), sort_keys=True, indent=2) + "\n").encode()
    meta = json.loads((tmp_path / "agents" / "ada.meta.json").read_text())
    assert meta["name"] == "agents/ada"
    assert meta["format"] == PROVENANCE_FORMAT
    assert meta["schema_name"] == "conftest:Agent"
    assert meta["generated_at"].endswith("Z")
    assert meta["data_sha256"] == record.data_sha256
    # the data file is pure data: json.load + model_validate works without hotdata
    assert Agent.model_validate(json.loads(raw)) == AGENT
    assert fx.load() == AGENT
    assert fx.status().state is FixtureState.FRESH
    mask = os.umask(0)
    os.umask(mask)
    assert fx.path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_missing_file(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "nope.json", Agent)
    assert not fx.exists()
    with pytest.raises(FixtureMissingError, match=r"nope\.json does not exist"):
        fx.load()
    assert fx.status().state is FixtureState.MISSING
    default = Agent(id="d", name="Default")
    assert fx.load_or_default(default) is default


def test_invalid_names_every_error_with_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": 3, "connections": [{"target": "b", "strength": 7}]}')
    fx = HotData(path, Agent)
    with pytest.raises(FixtureInvalidError) as info:
        fx.load()
    message = str(info.value)
    assert str(path) in message
    assert "at id:" in message
    assert "at name:" in message
    assert "at connections/0/strength:" in message
    assert isinstance(info.value, HotDataError)
    assert fx.status().state is FixtureState.INVALID


def test_invalid_json_and_non_utf8(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "a", ')
    with pytest.raises(FixtureInvalidError, match=r"(?i)invalid JSON: EOF while parsing"):
        HotData(broken, Agent).load()
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"id": "a", "name": "caf\xe9"}')
    with pytest.raises(FixtureInvalidError, match=r"latin\.json"):
        HotData(latin, Agent).load()


def test_load_or_default_warns_on_invalid(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[]")
    default = Agent(id="d", name="Default")
    with pytest.warns(HotDataWarning, match=r"bad\.json"):
        assert HotData(path, Agent).load_or_default(default) is default


def test_ttl_counts_from_provenance_not_mtime(tmp_path: Path) -> None:
    clock = Clock()
    fx = HotData(tmp_path / "a.json", Agent, ttl="7d", clock=clock)
    write_fixture(fx, AGENT, generated_at=clock.now)
    clock.now += timedelta(days=9)
    # a checkout resets mtimes: touching the file must not make it fresh
    os.utime(fx.path)
    os.utime(fx.meta_path)
    status = fx.status()
    assert status.state is FixtureState.STALE
    assert status.reason == "ttl 7d expired 2d ago"
    assert status.age == timedelta(days=9)
    assert not fx.is_fresh()
    clock.now -= timedelta(days=3)
    assert fx.is_fresh()


def test_ttl_none_is_forever(tmp_path: Path) -> None:
    clock = Clock()
    fx = HotData(tmp_path / "a.json", Agent, clock=clock)
    write_fixture(fx, AGENT, generated_at=clock.now)
    clock.now += timedelta(days=10_000)
    assert fx.is_fresh()


def test_hand_edit_is_detected(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    data = json.loads(fx.path.read_text())
    data["name"] = "Hand-curated Ada"
    fx.path.write_text(json.dumps(data))
    status = fx.status()
    assert status.state is FixtureState.EDITED
    assert "edited by hand" in status.reason
    assert fx.load().name == "Hand-curated Ada"


def test_missing_or_corrupt_provenance_is_stale(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    fx.meta_path.write_text("{not json")
    status = fx.status()
    assert status.state is FixtureState.STALE
    assert "a.meta.json" in status.reason
    fx.meta_path.unlink()
    assert fx.status().reason == "provenance record a.meta.json is missing"


def test_schema_change_is_stale(tmp_path: Path) -> None:
    write_fixture(HotData(tmp_path / "a.json", Agent), AGENT)

    class Agent2(Agent):
        mood: str = "calm"

    status = HotData(tmp_path / "a.json", Agent2).status()
    assert status.state is FixtureState.STALE
    assert "schema" in status.reason


def test_save_failure_midway_keeps_old_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    old_data, old_meta = fx.path.read_bytes(), fx.meta_path.read_bytes()
    real_replace = os.replace
    calls = []

    def failing_replace(src: Any, dst: Any) -> None:
        calls.append(dst)
        if str(dst) == str(fx.path):  # the data rename: fail after the temp files exist
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_fixture(fx, Agent(id="a2", name="New"))
    monkeypatch.undo()
    assert fx.path.read_bytes() == old_data
    assert fx.meta_path.read_bytes() == old_meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.meta.json"]
    assert fx.is_fresh()


def test_save_rejects_invalid_value(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    before = fx.path.read_bytes()
    bad = Agent.model_construct(
        id="x", name="y", connections=[Connection.model_construct(target="t", strength=9)]
    )
    with pytest.raises(ValueError, match="strength"):
        write_fixture(fx, bad)
    assert fx.path.read_bytes() == before


def test_interrupted_write_between_renames_is_recovered(tmp_path: Path) -> None:
    from hotdata.make.commit import recover

    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    # simulate a crash after the data rename, before the record rename
    old_meta = fx.meta_path.read_bytes()
    write_fixture(fx, Agent(id="a2", name="New"))
    new_meta = fx.meta_path.read_bytes()
    fx.meta_path.write_bytes(old_meta)
    fx.meta_path.with_name("a.meta.json.pending").write_bytes(new_meta)
    assert fx.status().state is FixtureState.FRESH
    assert recover(fx.path, fx.meta_path)
    assert fx.meta_path.read_bytes() == new_meta


class CountingAgent(BaseModel):
    calls: Any = None
    name: str

    @field_validator("name")
    @classmethod
    def _count(cls, value: str) -> str:
        VALIDATIONS.append(value)
        return value


VALIDATIONS: list[str] = []


def test_cache_hit_reads_no_file_and_change_is_reread(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"name": "one"}')
    fx = HotData(path, CountingAgent)
    shared = HotData(path, CountingAgent, copy="never")
    VALIDATIONS.clear()
    assert fx.load().name == "one"
    # same size, inode and mtime: only a read could see the new text, and a hit does not read
    before = path.stat()
    path.write_text('{"name": "ONE"}')
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    # a mutable schema gets a new object each time, re-validated from the cached bytes
    first, second = fx.load(), fx.load()
    assert first.name == "one"
    assert first == second and first is not second
    assert VALIDATIONS == ["one", "one", "one"]
    assert shared.load() is shared.load()  # copy="never": one object, validated once
    assert VALIDATIONS == ["one", "one", "one", "ONE"]
    path.write_text('{"name": "two!"}')
    assert fx.load().name == "two!"
    assert VALIDATIONS[-1] == "two!"


def test_callers_cannot_poison_each_other(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    first = fx.load()
    first.tags.append("poison")
    first.connections[0].target = "poison"
    first.name = "poison"
    second = fx.load()
    assert second == AGENT
    shared = HotData(fx.path, Agent, copy="never")
    assert shared.load() is shared.load()


class FrozenConn(BaseModel, frozen=True):
    target: str
    kinds: tuple[str, ...]


class FrozenAgent(BaseModel, frozen=True):
    name: str
    conns: tuple[FrozenConn, ...]
    best: FrozenConn | None = None


class FrozenWithPrivate(BaseModel, frozen=True):
    name: str
    _seen: int = PrivateAttr(default=0)


def test_private_attributes_of_frozen_models_are_not_shared(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "p.json", FrozenWithPrivate)
    write_fixture(fx, FrozenWithPrivate(name="n"))
    first = fx.load()
    first._seen = 5
    assert fx.load()._seen == 0


def test_deeply_immutable_values_are_shared_mutable_ones_copied(tmp_path: Path) -> None:
    from hotdata._immutable import is_deeply_immutable

    assert is_deeply_immutable(FrozenAgent)
    assert not is_deeply_immutable(Agent)
    assert not is_deeply_immutable(list[FrozenAgent])
    assert is_deeply_immutable(tuple[FrozenAgent, ...])
    assert not is_deeply_immutable(FrozenWithPrivate)  # its private attribute can be assigned
    fx = HotData(tmp_path / "f.json", FrozenAgent)
    write_fixture(fx, FrozenAgent(name="n", conns=(FrozenConn(target="t", kinds=("a",)),)))
    assert fx.load() is fx.load()


@dataclasses.dataclass
class Point:
    x: int
    y: list[int]


class Row(TypedDict):
    key: str
    value: int


class Legacy:
    """The seed's Serializable protocol."""

    def __init__(self, title: str, items: list[str]) -> None:
        self.title = title
        self.items = items

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "items": self.items}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Legacy:
        return cls(data["title"], list(data["items"]))


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (Point, Point(1, [2, 3])),
        (list[Agent], [AGENT, Agent(id="b", name="Bo")]),
        (Row, {"key": "k", "value": 3}),
    ],
)
def test_typeadapter_schemas_round_trip(tmp_path: Path, schema: Any, value: Any) -> None:
    fx: HotData[Any] = HotData(tmp_path / "v.json", schema)
    write_fixture(fx, value)
    assert fx.load() == value
    assert fx.is_fresh()


def test_serializable_protocol_round_trips(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "legacy.json", Legacy)
    write_fixture(fx, Legacy("Plan", ["a", "b"]))
    loaded = fx.load()
    assert isinstance(loaded, Legacy)
    assert (loaded.title, loaded.items) == ("Plan", ["a", "b"])
    assert fx.is_fresh()
    fx.path.write_text('{"title": "x"}')
    with pytest.raises(FixtureInvalidError, match="KeyError"):
        fx.load()


def test_path_must_be_a_data_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="provenance record"):
        HotData(tmp_path / "a.meta.json", Agent)


def test_no_warnings_on_clean_load(tmp_path: Path) -> None:
    fx = HotData(tmp_path / "a.json", Agent)
    write_fixture(fx, AGENT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fx.load_or_default(Agent(id="d", name="D")) == AGENT
