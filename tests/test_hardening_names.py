"""Issue 15, declarations: fixture names doit and file systems accept, variant params that
round-trip through JSON, templates that stay inside templates_dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from hotdata import InvalidFixtureName
from hotdata._names import MAX_NAME_BYTES, MAX_SEGMENT_BYTES, validate_fixture_name
from hotdata.make import CatalogError, TemplateError, fixture
from hotdata.make.commit import write_atomic
from hotdata.make.generate import TemplateSet
from hotdata.make.plan import expand

# --- 1. fixture names ----------------------------------------------------------------------

BAD_NAMES = [
    ("agents/a=b", "'='"),
    ("agents/a:b", "':'"),
    ("agents/a*", "wildcard"),
    ("agents/a?b", "'?'"),
    ("agents/[ab]", "wildcard"),
    ("agents/a<b", "Windows reserves"),
    ("agents/a>b", "Windows reserves"),
    ('agents/a"b', "Windows reserves"),
    ("agents/a|b", "Windows reserves"),
    ("agents/a b", "space"),
    ("agents/a$b", "only letters, digits"),
    ("agents/a\tb", "control character"),
    ("agents/a\x7fb", "control character"),
    ("agents/-rf", "starts with '-'"),
    ("agents/v1.", "ends with '.'"),
    ("agents./x", "ends with '.'"),
    ("CON", "device name"),
    ("agents/nul", "device name"),
    ("agents/Com1", "device name"),
    ("lpt9.v2/x", "device name"),
    ("agents/com¹", "device name"),
    ("agents/cafe\u0301", "NFC"),
    ("agents/" + "a" * (MAX_SEGMENT_BYTES + 1), f"{MAX_SEGMENT_BYTES + 1} bytes"),
    ("agents/" + "é" * (MAX_SEGMENT_BYTES // 2 + 1), f"{MAX_SEGMENT_BYTES + 2} bytes"),  # 101 chars
    ("x" * 240, "240 bytes"),
    ("/".join(["a" * 100] * 6), f"{101 * 6 - 1} bytes"),
]


@pytest.mark.parametrize(("name", "why"), BAD_NAMES)
def test_names_doit_or_a_file_system_cannot_take_are_rejected(name: str, why: str) -> None:
    with pytest.raises(InvalidFixtureName, match="invalid fixture name") as info:
        validate_fixture_name(name)
    assert why in str(info.value)
    assert "\n" not in str(info.value)


GOOD_NAMES = [
    "agents/soul-2.v3",
    "agents/café",  # NFC
    "日本/テスト_1",
    "_private/x",
    "agents/console",  # a device name only when it is the whole part before the first '.'
    "agents/com10",
    "agents/nul_x",
    "agents/a..b",
    "agents/" + "a" * MAX_SEGMENT_BYTES,
    "agents/" + "é" * (MAX_SEGMENT_BYTES // 2),  # 200 bytes in 100 characters
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_at_the_boundaries(name: str) -> None:
    assert validate_fixture_name(name) == name


def test_whole_name_length_boundary() -> None:
    head = "/".join(["a" * MAX_SEGMENT_BYTES] * 2) + "/"
    longest = head + "b" * (MAX_NAME_BYTES - len(head))
    assert len(longest.encode()) == MAX_NAME_BYTES
    assert validate_fixture_name(longest) == longest
    with pytest.raises(InvalidFixtureName, match=f"{MAX_NAME_BYTES + 1} bytes in UTF-8"):
        validate_fixture_name(longest + "b")


def test_the_longest_segment_leaves_room_for_every_file_written_beside_it(tmp_path: Path) -> None:
    # every file hotdata writes beside a data file, each through a temp file of its own
    suffixes = [".json", ".meta.json", ".meta.json.pending", ".json.new", ".meta.json.new"]
    segment = "é" * (MAX_SEGMENT_BYTES // 2)
    validate_fixture_name(f"agents/{segment}")
    for suffix in suffixes:
        write_atomic(tmp_path / f"{segment}{suffix}", b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(segment + s for s in suffixes)
    if os.pathconf(tmp_path, "PC_NAME_MAX") == 255:  # the 240-byte segment of the issue did not fit
        with pytest.raises(OSError, match="File name too long"):
            write_atomic(tmp_path / ("x" * 240 + ".meta.json.pending"), b"{}")


def _declared(name: str, variants: list[dict[str, Any]] | None) -> Any:
    @fixture(name, schema=dict, variants=variants)
    async def make_card(ctx: Any, **params: Any) -> dict[str, Any]:
        return {}

    return make_card


def test_a_bad_name_names_the_generator_and_the_variant() -> None:
    fn = _declared("cards/{kind}", [{"kind": "ok"}, {"kind": "a=b"}])
    with pytest.raises(InvalidFixtureName) as info:
        expand(fn)
    message = str(info.value)
    assert "invalid fixture name 'cards/a=b'" in message
    assert "@fixture('cards/{kind}')" in message
    assert f"{__name__}:{fn.__qualname__}" in message
    assert "variant {'kind': 'a=b'}" in message
    assert info.value.where is not None and "\n" not in message


def test_a_name_that_cannot_be_filled_in_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="placeholder 'kind' that the variant does not give"):
        expand(_declared("cards/{kind}", [{"other": 1}]))
    with pytest.raises(CatalogError, match="cannot be filled in"):
        expand(_declared("cards/{n:zz}", [{"n": 1}]))


BAD_NAME_DECLARATIONS = [
    ('"agents/{k}", variants=[{"k": "a=b"}]', "agents/a=b", "'='"),
    (f'"agents/{"x" * 240}"', "agents/" + "x" * 240, "240 bytes"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("declaration", "name", "why"), BAD_NAME_DECLARATIONS)
def test_a_project_with_a_bad_name_says_so_in_one_line(
    tmp_path: Path, declaration: str, name: str, why: str
) -> None:
    project = Project.create(tmp_path)
    project.path("gens/bad.py").write_text(
        "from hotdata.make import fixture\nfrom .schemas import Note\n\n\n"
        f'@fixture({declaration}, schema=Note, template="note.j2")\n'
        "async def bad(ctx, **params):\n    return Note(title='t', body='b')\n"
    )
    for command in (["fixtures"], ["validate"], ["status", "--json"], ["list"]):
        proc = project.doit(*command)
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out
        assert "name must not use the char '='" not in out  # doit's own refusal never happens
        lines = [line for line in out.splitlines() if "invalid fixture name" in line]
        assert lines, (command, out)
        assert f"invalid fixture name {name!r} (from @fixture(" in lines[0]
        assert "on gens.bad:bad" in lines[0]
        assert why in lines[0]
        if command == ["list"]:
            assert proc.returncode == 0, out  # doit still lists its tasks
            assert "fixtures" in proc.stdout
        else:
            assert proc.returncode != 0, out
    assert project.calls() == []
    assert not project.path("fixtures/agents").exists()


# --- 2. variant params ---------------------------------------------------------------------

BAD_PARAMS = [
    ({"entropy": float("nan")}, "entropy is nan", "stale on every run"),
    ({"entropy": float("inf")}, "entropy is inf", "finite number"),
    ({"weights": [0.5, float("-inf")]}, "weights[1] is -inf", "JSON cannot hold"),
    ({"opts": {"scale": (1.0, float("nan"))}}, "opts['scale'][1] is nan", "null"),
    ({"tags": {"a", "b"}}, "tags is a set, not a JSON value", "a sorted list"),
    ({"who": object()}, "who is a object, not a JSON value", "memory address"),
    ({"opts": {1: "x"}}, "opts has key 1, a int", "use str keys"),
    ({"text": "a\ud800b"}, "text holds a lone surrogate", "UTF-8"),
]


@pytest.mark.parametrize(("params", "where", "why"), BAD_PARAMS)
def test_params_that_do_not_round_trip_through_json_are_rejected(
    params: dict[str, Any], where: str, why: str
) -> None:
    fn = _declared("cards/one", [params])
    with pytest.raises(CatalogError) as info:
        expand(fn)
    message = str(info.value)
    assert message.startswith(f"fixture 'cards/one' ({__name__}:{fn.__qualname__}): variant parameter ")
    assert where in message
    assert why in message
    assert "\n" not in message


def test_json_params_are_accepted() -> None:
    params = {"n": 10**30, "ok": True, "none": None, "x": -0.5, "pair": (1, "b"), "nested": {"k": [{}]}}
    (spec,) = expand(_declared("cards/one", [params]))
    assert spec.params == params


def test_a_variant_that_is_not_a_mapping_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="variant 1 is a str, not a mapping"):
        _declared("cards/{k}", [{"k": "a"}, "b"])
    with pytest.raises(CatalogError, match="parameter 1 is named by a int"):
        expand(_declared("cards/x", [{1: "a"}]))


@pytest.mark.slow
def test_a_nan_param_is_refused_before_any_model_call(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.edit("gens/agents.py", '"entropy": 0.9}', '"entropy": float("nan")}')
    proc = project.doit("fixtures")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out
    assert "fixture 'agents/crisis' (gens.agents:agent): variant parameter entropy is nan" in out
    assert project.calls() == []


# --- 3. templates stay inside templates_dir ------------------------------------------------


def test_a_template_symlinked_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    templates, outside = tmp_path / "templates", tmp_path / "outside"
    templates.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (outside / "more.j2").write_text("TOP SECRET")
    os.symlink(outside / "secret.txt", templates / "linked.j2")
    os.symlink(outside, templates / "shared")
    (templates / "inner.j2").write_text("inner {{ x }}")
    os.symlink(templates / "inner.j2", templates / "alias.j2")  # inside to inside: fine
    (templates / "uses.j2").write_text('{% include "linked.j2" %}')
    (templates / "dynamic.j2").write_text("{% include name %}")
    (templates / "parent.j2").write_text('{% include "../outside/more.j2" %}')
    ts = TemplateSet(templates)

    for call in (lambda: ts.render("linked.j2", {}), lambda: ts.closure(["linked.j2"])):
        with pytest.raises(TemplateError) as info:
            call()
        assert f"template 'linked.j2' in {templates} is a symlink to {outside / 'secret.txt'}" in str(
            info.value
        )
    with pytest.raises(TemplateError, match=r"'shared/more.j2' .* is a symlink to .*outside/more.j2"):
        ts.render("shared/more.j2", {})
    with pytest.raises(TemplateError, match=r"symlink to .*secret.txt.*\(used by template 'uses.j2'\)"):
        ts.closure(["uses.j2"])
    with pytest.raises(TemplateError, match="symlink to"):
        ts.render("uses.j2", {})
    with pytest.raises(TemplateError, match="symlink to"):
        ts.render("dynamic.j2", {"name": "linked.j2"})
    with pytest.raises(TemplateError, match=r"'\.\./outside/more.j2' reaches outside .*'parent.j2'"):
        ts.closure(["parent.j2"])
    assert "linked.j2" not in ts.closure(["dynamic.j2"])  # not an input: it can never be included
    assert ts.render("alias.j2", {"x": 1}) == "inner 1"


@pytest.mark.slow
def test_a_project_template_symlinked_outside_never_reaches_a_prompt(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    voice = project.path("templates/partials/voice.j2")
    voice.unlink()
    os.symlink(secret, voice)  # included by agent.j2
    proc = project.doit("fixtures")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out
    assert f"template 'partials/voice.j2' in {project.path('templates')} is a symlink to {secret}" in out
    prompts = [json.loads(line)["prompt"] for line in project.log.read_text().splitlines()]
    assert not any("TOP SECRET" in prompt for prompt in prompts)
    assert project.calls() == ["notes/welcome"]  # the other fixture is built
    assert not list(project.path("fixtures").rglob("agents/*.json"))
