"""``doit migrate`` (#25 item 3): real doit on a temp project, real HTTP to the fake server.

What code must decide after a schema change (a rename, a computed default, a transform) is done
to the committed data: no model call, checked by the schema and the gates, all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from hotdata.testing import FakeOpenAIServer

SHAPES = """
from pydantic import BaseModel, Field


class Talk(BaseModel):
    title: str = Field(max_length=400)
    minutes: int = Field(ge=5, le=60)


class Agenda(BaseModel):
    name: str
    talks: list[Talk] = Field(min_length=2, max_length=3)
"""

AGENDAS = """
from hotdata.make import fixture

from .shapes import Agenda


@fixture("agendas/{i}", schema=Agenda, template="note.j2", variants=[{"i": 0}, {"i": 1}])
async def agenda(ctx, i):
    return await ctx.generate(ctx.render() + f" (agenda {i})")
"""

MIGRATIONS = """
def add_level(data, name):
    for talk in data["talks"]:
        talk["level"] = "advanced" if talk["minutes"] > 30 else "beginner"
    return data


def boom(data, name):
    raise ValueError("no level for " + name)


NOT_A_FUNCTION = 3
"""

NAMES = ("agendas/0", "agendas/1")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=5) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    proj = Project.create(tmp_path)
    proj.path("gens/shapes.py").write_text(SHAPES)
    proj.path("gens/agendas.py").write_text(AGENDAS)
    proj.path("migrations.py").write_text(MIGRATIONS)
    user_dir = tmp_path / "llm"
    server.write_llm_config(user_dir, "fake-gpt")
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}
    proj.doit("fixtures", env=env, check=True)
    requests(server)
    return proj, env


def requests(server: FakeOpenAIServer) -> int:
    count = len([r for r in server.requests if r["path"].endswith("/chat/completions")])
    server.requests.clear()
    return count


def stale(proj: Project, env: dict[str, str]) -> dict[str, str]:
    return {n: r["reason"] for n, r in proj.status(env).items() if r["state"] != "fresh"}


def files(proj: Project) -> dict[str, bytes]:
    """Every file under fixtures/ (data, records, staged pairs), by path."""
    root = proj.path("fixtures")
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def data(proj: Project, name: str) -> Any:
    return json.loads(proj.path(f"fixtures/{name}.json").read_text())


def record(proj: Project, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(proj.path(f"fixtures/{name}.meta.json").read_text())
    return loaded


def rename_in_schema(proj: Project) -> None:
    """The schema renames `name` to `title_of_day` and each talk's `title` to `headline`."""
    proj.edit("gens/shapes.py", "    name: str", "    title_of_day: str")
    proj.edit(
        "gens/shapes.py",
        "    title: str = Field(max_length=400)",
        "    headline: str = Field(max_length=400)",
    )


def renamed(value: Any) -> Any:
    """``value`` as the renames make it, by hand: the keys in their places."""
    out = {("title_of_day" if k == "name" else k): v for k, v in value.items()}
    out["talks"] = [{("headline" if k == "title" else k): v for k, v in t.items()} for t in value["talks"]]
    return out


def verified(proj: Project, env: dict[str, str], server: FakeOpenAIServer) -> str:
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert requests(server) == 0
    return proc.stdout


@pytest.mark.slow
def test_renames_of_a_top_level_and_a_nested_field_keep_the_values_and_ask_nothing(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = {n: data(proj, n) for n in NAMES}
    old = record(proj, "agendas/0")
    rename_in_schema(proj)
    assert set(stale(proj, env)) == set(NAMES)
    proc = proj.doit(
        "migrate", "--rename=name=title_of_day", "--rename=/talks/*/title=headline", "agendas/*", env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert requests(server) == 0
    assert "doit migrate: 2 fixture(s) migrated, 0 unchanged; 0 model calls" in proc.stdout
    assert (
        "migrated agendas/0 (migrated: /name → /title_of_day, /talks/*/title → /talks/*/headline)"
        in proc.stdout
    )
    for name in NAMES:
        assert data(proj, name) == renamed(before[name])
    assert stale(proj, env) == {}
    new = record(proj, "agendas/0")
    assert new["answers"] == old["answers"] and new["generated_at"] == old["generated_at"]
    assert new["schema_hash"] != old["schema_hash"]
    assert "headline" in json.dumps(new["schemas"])
    (migration,) = new["migrated"]
    assert migration["renames"] == [["/name", "/title_of_day"], ["/talks/*/title", "/talks/*/headline"]]
    assert (
        migration["from_sha256"] == old["data_sha256"] and migration["from_schema_hash"] == old["schema_hash"]
    )
    assert "/talks/0/headline" in migration["changed"] and "/name" in migration["changed"]
    proc = proj.doit("fixtures", env=env, check=True)
    assert requests(server) == 0
    assert "0 generated" in proc.stdout
    proj.doit("validate", env=env, check=True)
    out = verified(proj, env, server)
    assert "all 5 fixture(s) are what the committed code produces (0 model calls)" in out
    assert "2 of them migrated by `doit migrate`: checked by their schema and gates" in out
