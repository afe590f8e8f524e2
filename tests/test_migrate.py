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
from doit_project import Project, fake_gpt_project
from doit_project import completions as requests
from doit_project import stale_reasons as stale

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
import os


def add_level(data, name):
    for talk in data["talks"]:
        talk["level"] = "advanced" if talk["minutes"] > 30 else "beginner"
    return data


def boom(data, name):
    raise ValueError("no level for " + name)


def interrupted(data, name):
    raise KeyboardInterrupt


def exits(data, name):
    raise SystemExit(3)


def as_text(data, name):
    data["talks"][0]["minutes"] = str(data["talks"][0]["minutes"])
    return data


def stretch(data, name):
    data["talks"][0]["minutes"] = 999 if name == "agendas/1" else 10
    return data


NOT_A_FUNCTION = 3


def leak_key(data, name):
    data["name"] = "key " + os.environ["MIGRATE_API_KEY"]
    return data


def leak_key_raise(data, name):
    raise ValueError("refused key " + os.environ["MIGRATE_API_KEY"])
"""

NAMES = ("agendas/0", "agendas/1")
# the renames that follow rename_in_schema, one dotted, one a JSON pointer
RENAMES = ("--rename=name=title_of_day", "--rename=talks.*.title=talks.*.headline")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=5) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Project, dict[str, str]]:
    files = {"gens/shapes.py": SHAPES, "gens/agendas.py": AGENDAS, "migrations.py": MIGRATIONS}
    return fake_gpt_project(tmp_path, server, files)


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


def refused(proj: Project, env: dict[str, str], *args: str) -> str:
    """What ``doit migrate *args`` says; it must fail, with no traceback, and write nothing."""
    before = files(proj)
    proc = proj.doit("migrate", *args, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out, out
    assert files(proj) == before
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
    proc = proj.doit("migrate", *RENAMES, "agendas/*", env=env)
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
    assert (
        "2 of them migrated by `doit migrate`: 2 rebuilt byte for byte through their recorded "
        "migrations, 0 checked by their schema and gates only"
    ) in out


@pytest.mark.slow
def test_a_function_computes_a_new_field(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = data(proj, "agendas/0")
    proj.edit(
        "gens/shapes.py",
        "    minutes: int = Field(ge=5, le=60)",
        "    minutes: int = Field(ge=5, le=60)\n    level: str",
    )
    assert set(stale(proj, env)) == set(NAMES)
    proc = proj.doit("migrate", "--fn", "migrations:add_level", "agendas/0", "agendas/1", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert requests(server) == 0
    after = data(proj, "agendas/0")
    assert [t["level"] for t in after["talks"]] == [
        "advanced" if t["minutes"] > 30 else "beginner" for t in before["talks"]
    ]
    assert {k: v for k, v in after.items() if k != "talks"} == {
        k: v for k, v in before.items() if k != "talks"
    }
    assert stale(proj, env) == {}
    (migration,) = record(proj, "agendas/0")["migrated"]
    assert migration["fn"] == "migrations:add_level" and migration["renames"] == []
    assert "/talks/0/level" in migration["changed"]
    # its answers, asked before `level` existed, replayed through add_level: the committed bytes
    assert "2 rebuilt byte for byte through their recorded migrations" in verified(proj, env, server)
    # the function changed since: what it makes now is not committed; the data is checked as data
    proj.edit("migrations.py", '"advanced"', '"expert"')
    assert (
        "0 rebuilt byte for byte through their recorded migrations, 2 checked by their schema and gates only"
        in (verified(proj, env, server))
    )
    # a hand edit of migrated data is found
    edited = proj.path("fixtures/agendas/0.json")
    edited.write_text(edited.read_text().replace('"talks"', '"talks" ', 1))
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"})
    assert proc.returncode != 0 and "agendas/0: migrated, then edited" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_dry_run_shows_the_change_and_writes_nothing(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    rename_in_schema(proj)
    before = files(proj)
    proc = proj.doit(
        "migrate",
        *RENAMES,
        "agendas/*",
        "dry=1",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "would migrate agendas/1 (migrated: /name → /title_of_day, /talks/*/title → /talks/*/headline)"
        in proc.stdout
    )
    assert "/talks/0/headline" in proc.stdout
    assert "2 fixture(s) would be migrated, 0 unchanged; nothing written, 0 model calls" in proc.stdout
    assert files(proj) == before
    assert set(stale(proj, env)) == set(NAMES)


@pytest.mark.slow
def test_one_fixture_the_schema_refuses_and_nothing_is_written(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = files(proj)
    proc = proj.doit("migrate", "--fn=migrations:stretch", "agendas/*", env=env)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "cannot migrate agendas/1: the migrated data is refused: " in out
    assert "at talks/0/minutes: Input should be less than or equal to 60" in out
    assert "cannot migrate agendas/0" not in out  # it alone would pass
    assert "nothing was written (all or nothing)" in out
    assert files(proj) == before
    assert requests(server) == 0


@pytest.mark.slow
def test_under_review_the_migration_is_staged_then_accepted(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = data(proj, "agendas/0")
    rename_in_schema(proj)
    proc = proj.doit(
        "migrate",
        *RENAMES,
        "agendas/*",
        "review=1",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 fixture(s) staged for review" in proc.stdout
    assert data(proj, "agendas/0") == before  # the committed data is untouched until accepted
    rows = proj.status(env)
    assert rows["agendas/0"]["state"] == "pending"
    assert "migrated: /name → /title_of_day" in rows["agendas/0"]["reason"]
    proc = proj.doit("accept", "--all", env=env, check=True)
    assert "accepted agendas/0 (migrated: /name → /title_of_day" in proc.stdout
    assert data(proj, "agendas/0") == renamed(before)
    assert stale(proj, env) == {}
    assert requests(server) == 0
    verified(proj, env, server)


@pytest.mark.slow
def test_a_rename_whose_old_path_is_missing_names_the_fixture_and_the_right_path(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    rename_in_schema(proj)
    before = files(proj)
    proc = proj.doit("migrate", "--rename=/talks/*/titel=headline", "agendas/0", env=env)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert (
        "cannot migrate agendas/0: --rename /talks/*/titel=/talks/*/headline: /talks/0/titel is not in its data; did you mean /talks/0/title?"
        in out
    )
    assert files(proj) == before
    # an index is ASCII digits, with no leading zero (RFC 6901): any other digit is not one
    for index in ("²", "01"):
        out = refused(proj, env, f"--rename=/talks/{index}/title=headline", "agendas/0")
        assert f"/talks/{index} is not in its data; it is an array of 2: use * for every item" in out
    # a rename onto a key that is there never overwrites it, and says how to do that move
    out = refused(proj, env, "--rename=talks.*.title=minutes", "agendas/0")
    assert (
        "/talks/0/minutes is there already and a rename never overwrites: make this move in the function "
        "of --fn module:function (it runs after the renames), without this --rename"
    ) in out, out
    # a rename written as a doit variable (with a space) is told how to write it
    proc = proj.doit("migrate", "--rename", "name=title_of_day", "agendas/0", env=env)
    assert proc.returncode != 0
    assert "--rename=OLD=NEW" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_bad_function_is_a_clear_error(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    before = files(proj)
    for fn, said in [
        (
            "no_such_module:f",
            "--fn no_such_module:f: module 'no_such_module' cannot be imported (ModuleNotFoundError",
        ),
        (
            "migrations:NOT_A_FUNCTION",
            "--fn migrations:NOT_A_FUNCTION: NOT_A_FUNCTION is a int, not a function",
        ),
        (
            "migrations:boom",
            "cannot migrate agendas/0: --fn migrations:boom raised ValueError: no level for agendas/0",
        ),
        (
            "migrations:interrupted",
            "interrupted while migrating agendas/0 (Ctrl-C, or --fn migrations:interrupted raised "
            "KeyboardInterrupt); nothing was written",
        ),
        ("migrations:exits", "cannot migrate agendas/0: --fn migrations:exits raised SystemExit: 3"),
    ]:
        proc = proj.doit("migrate", f"--fn={fn}", "agendas/0", env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and said in out, out
        assert "Traceback" not in out
    assert files(proj) == before


@pytest.mark.slow
def test_a_secret_the_function_puts_in_the_data_is_never_written(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    key = "sk-migrate-0123456789abcdef"
    out = refused(proj, {**env, "MIGRATE_API_KEY": key}, "--fn=migrations:leak_key", "agendas/0")
    assert key not in out
    assert "cannot migrate agendas/0: the migrated data holds a secret value at /name (not shown" in out
    # nor shown when the function raises with it in its message
    out = refused(proj, {**env, "MIGRATE_API_KEY": key}, "--fn=migrations:leak_key_raise", "agendas/0")
    assert key not in out
    assert (
        "cannot migrate agendas/0: --fn migrations:leak_key_raise raised ValueError: refused key ***" in out
    )


@pytest.mark.slow
def test_the_migrated_data_is_written_as_its_schema_writes_it(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    minutes = data(proj, "agendas/0")["talks"][0]["minutes"]
    # "24" validates as an integer; the file gets the integer, as a build would write it
    proj.edit(
        "gens/shapes.py", "    minutes: int = Field(ge=5, le=60)", "    minutes: int = Field(ge=5, le=90)"
    )
    proj.doit("migrate", "--fn=migrations:as_text", "agendas/0", env=env, check=True)
    assert f'"minutes": {minutes},' in proj.path("fixtures/agendas/0.json").read_text()
    proj.doit("fixtures", env=env, check=True)  # agendas/1: record updated, data kept
    assert stale(proj, env) == {} and requests(server) == 0
    assert "rebuilt byte for byte through their recorded migrations" in verified(proj, env, server)


@pytest.mark.slow
def test_a_broken_pair_is_refused_with_the_way_out(
    project: tuple[Project, dict[str, str]], server: FakeOpenAIServer
) -> None:
    proj, env = project
    rename_in_schema(proj)
    proj.path("fixtures/agendas/0.json").write_text("<<<<<<< HEAD\n{}\n=======\n[]\n>>>>>>> theirs\n")
    proj.path("fixtures/agendas/1.meta.json").unlink()
    out = refused(proj, env, *RENAMES, "agendas/*")
    for name, broken in [("agendas/0", "0.json"), ("agendas/1", "1.meta.json")]:
        line = next(line for line in out.splitlines() if line.startswith(f"cannot migrate {name}: "))
        assert broken in line and "(`git checkout -- " in line and f"fixtures/{name}." in line, line
        assert f"`doit fixtures:{name}`" in line, line
