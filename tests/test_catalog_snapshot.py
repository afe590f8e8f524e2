"""The catalog snapshot: a plain no-op `doit fixtures` imports neither the generators nor pydantic,
and every way the catalog can change takes the full path again (real doit subprocesses)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.make._snapshot import environment_digest, fresh_catalog  # the ttl rule, at a given "now"

pytestmark = pytest.mark.slow

ALL = ["agents/crisis", "agents/deliberating", "notes/welcome"]
SNAPSHOT = ".hotdata/catalog-snapshot.json"
RACY_NS = 3_000_000_000  # hotdata.make._snapshot.RACY_NS: files younger than this are not trusted by stat

# Every generator module of the project says when it is imported (outside the project: a
# file written in the project would itself be a change).
MARK = """
import pathlib as _pathlib

with open(_pathlib.Path(__file__).resolve().parents[2] / "imports.log", "a") as _log:
    _log.write(__name__ + "\\n")
"""


def settle(project: Project) -> None:
    """Until every file of the project is older than the racy window: an observed condition
    (the clock has passed each file's ctime by the window), not a guess."""
    newest = 0
    for here, dirs, files in os.walk(project.root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*files, *dirs, "."]:
            st = os.lstat(os.path.join(here, name))
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    while time.time_ns() <= newest + RACY_NS + 50_000_000:
        time.sleep(0.05)


def imported(project: Project) -> list[str]:
    """Generator modules imported since the last look."""
    log = project.root.parent / "imports.log"
    found = log.read_text().split() if log.exists() else []
    log.unlink(missing_ok=True)
    return found


def summary(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("hotdata: ")]
    assert lines, proc.stdout + proc.stderr
    return re.sub(r"[\d.]+s$", "Xs", lines[-1])


def doit_importtime(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``doit *args`` under ``-X importtime``: the run and every module it imported (with each
    module's top-level package)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    env["HOTDATA_FAKE_LOG"] = str(project.log)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "doit", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc, names | {name.split(".")[0] for name in names}


def warm(project: Project) -> str:
    """Build, then one no-op run (the files are old enough to trust) that leaves the snapshot;
    the summary line of that full no-op run."""
    project.doit("fixtures", check=True)
    project.calls()
    settle(project)
    proc = project.doit("fixtures", check=True)
    assert project.path(SNAPSHOT).exists(), proc.stdout + proc.stderr
    assert imported(project), "the full path imports the generators"
    return summary(proc)


def quick(project: Project) -> subprocess.CompletedProcess[str]:
    """A plain `doit fixtures` that must take the quick path."""
    proc = project.doit("fixtures", check=True)
    assert imported(project) == [], proc.stdout + proc.stderr
    return proc


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    for module in ("__init__.py", "agents.py", "schemas.py"):
        path = proj.path(f"gens/{module}")
        path.write_text(path.read_text() + MARK)
    return proj


def test_an_unchanged_project_takes_the_quick_path(project: Project) -> None:
    full = warm(project)
    proc, modules = doit_importtime(project)  # plain `doit`: fixtures is the default task
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert imported(project) == []
    assert (
        summary(proc)
        == full
        == (
            "hotdata: 0 generated, 3 up to date, 0 failed, 0 edited and kept, 0 stopped by budget; "
            "0 model call(s), 0 replayed, 0 tokens, Xs"
        )
    )
    assert proc.stdout.splitlines() == [
        line for line in proc.stdout.splitlines() if line.startswith("hotdata:")
    ]
    assert not modules & {"gens", "pydantic", "jinja2", "llm", "openai", "tenacity", "llama_cpp"}
    # nor the build stages: the gates, batch mode, the planner
    assert not {m for m in modules if m.startswith(("hotdata.make.quality", "hotdata.make.batch"))}
    assert "hotdata.make.plan._planner" not in modules
    assert project.calls() == []
    listed = project.doit("list", "--all", check=True).stdout  # not a plain build: the full tasks
    assert "fixtures:agents/crisis" in listed and imported(project)


def test_force_takes_the_full_path_and_drops_the_snapshot(project: Project) -> None:
    warm(project)
    proc = project.doit("fixtures", "force=1", check=True)
    assert "3 generated" in proc.stdout and imported(project)
    assert not project.path(SNAPSHOT).exists()
    project.calls()


def test_status_imports_no_model_library_nor_jinja2(project: Project) -> None:
    project.doit("fixtures", check=True)
    proc, modules = doit_importtime(project, "status")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "agents/crisis" in proc.stdout
    assert not modules & {"llm", "openai", "tenacity", "jinja2", "llama_cpp"}


def test_a_variant_added_in_code_is_built(project: Project) -> None:
    warm(project)
    project.edit(
        "gens/agents.py",
        '{"archetype": "crisis", "entropy": 0.9}',
        '{"archetype": "crisis", "entropy": 0.9}, {"archetype": "resting", "entropy": 0.5}',
    )
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 3 up to date" in proc.stdout
    assert project.calls() == ["agents/resting"]


LISTED = """
from hotdata.make import GenerationContext, fixture

from .schemas import Note

NAMES = (__import__("pathlib").Path(__file__).parent / "topics.txt").read_text().split()


@fixture("topics/{topic}", schema=Note, template="note.j2", variants=[{"topic": t} for t in NAMES],
         catalog_inputs=["gens/topics.txt"])
async def topic(ctx: GenerationContext, topic: str) -> Note:
    return await ctx.generate(ctx.render())
"""


def test_a_line_added_to_a_catalog_inputs_file_is_built(project: Project) -> None:
    project.path("gens/topics.txt").write_text("tea\n")
    project.path("gens/listed.py").write_text(LISTED + MARK)
    warm(project)
    quick(project)
    with project.path("gens/topics.txt").open("a") as fh:
        fh.write("coffee\n")
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 4 up to date" in proc.stdout, proc.stdout
    assert project.calls() == ["topics/coffee"]


EXTRA = """
from hotdata.make import GenerationContext, fixture

from .schemas import Note


@fixture("notes/extra", schema=Note, template="note.j2")
async def extra(ctx: GenerationContext) -> Note:
    return await ctx.generate(ctx.render())
"""


def test_a_module_added_to_the_package_is_built(project: Project) -> None:
    warm(project)
    project.path("gens/extra.py").write_text(EXTRA)
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 3 up to date" in proc.stdout, proc.stdout
    assert project.calls() == ["notes/extra"]


HELPED = """
from hotdata.make import GenerationContext, fixture

from . import helpers
from .schemas import Note


@fixture("notes/helped", schema=Note, template="note.j2")
async def helped(ctx: GenerationContext) -> Note:
    return await ctx.generate(ctx.render() + helpers.TONE)
"""


def test_an_edited_helper_module_rebuilds_its_users(project: Project) -> None:
    project.path("gens/helpers.py").write_text('TONE = "calm"\n')
    project.path("gens/helped.py").write_text(HELPED)
    warm(project)
    quick(project)
    project.edit("gens/helpers.py", "calm", "stormy")
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 3 up to date" in proc.stdout, proc.stdout
    assert project.calls() == ["notes/helped"]


def test_a_deleted_data_file_is_rebuilt(project: Project) -> None:
    warm(project)
    project.path("fixtures/agents/crisis.json").unlink()
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 2 up to date" in proc.stdout, proc.stdout
    assert project.calls() in ([], ["agents/crisis"])  # replayed from the answer store, or asked


def test_an_edited_template_rebuilds_its_users(project: Project) -> None:
    warm(project)
    project.edit("templates/note.j2", "[fixture", "Please.\n[fixture")
    proc = project.doit("fixtures", check=True)
    assert "1 generated, 2 up to date" in proc.stdout, proc.stdout
    assert project.calls() == ["notes/welcome"]


def test_a_hotdata_variable_takes_the_full_path(project: Project) -> None:
    warm(project)
    quick(project)
    proc = project.doit("fixtures", env={"HOTDATA_CONCURRENCY": "2"}, check=True)
    assert "0 generated, 3 up to date" in proc.stdout
    assert imported(project), "the catalog was imported again"
    proc = project.doit("fixtures", env={"HOTDATA_MODEL": "hotdata-fake:invalid-first"}, check=True)
    assert "3 generated, 0 up to date" in proc.stdout, proc.stdout  # another model: all stale
    assert imported(project)
    assert set(project.calls()) == set(ALL)


def test_a_hand_edit_is_reported_as_before(project: Project) -> None:
    warm(project)
    path = project.path("fixtures/notes/welcome.json")
    path.write_text(path.read_text().replace("Welcome aboard", "Welcome aboard!"))
    proc = project.doit("fixtures", check=True)
    assert "notes/welcome: edited by hand, kept" in proc.stdout, proc.stdout
    assert "0 generated, 2 up to date, 0 failed, 1 edited and kept" in proc.stdout
    assert project.calls() == []
    settle(project)
    project.doit("fixtures", check=True)
    assert not project.path(SNAPSHOT).exists()  # an edited fixture is never remembered as fresh
    proc = project.doit("fixtures", check=True)
    assert "edited by hand" in proc.stdout and imported(project)


FROM_ENV = """
import os

from hotdata.make import GenerationContext, fixture

from .schemas import Note


@fixture("moods/{mood}", schema=Note, template="note.j2",
         variants=[{"mood": m} for m in os.environ.get("MOODS", "calm").split(",")])
async def mood(ctx: GenerationContext, mood: str) -> Note:
    return await ctx.generate(ctx.render())
"""


def test_catalog_cache_false_serves_a_catalog_read_from_the_environment(project: Project) -> None:
    project.edit("pyproject.toml", "concurrency = 4", "concurrency = 4\ncatalog_cache = false")
    project.path("gens/moods.py").write_text(FROM_ENV)
    project.doit("fixtures", check=True)
    project.calls()
    settle(project)
    project.doit("fixtures", check=True)
    assert not project.path(SNAPSHOT).exists()
    assert imported(project)
    proc = project.doit("fixtures", env={"MOODS": "calm,bright"}, check=True)
    assert "1 generated, 4 up to date" in proc.stdout, proc.stdout
    assert project.calls() == ["moods/bright"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: "\x00garbage",
        lambda text: json.dumps({**json.loads(text), "fixtures": [[1, 2, 3, 4, 5]]}),
        lambda text: json.dumps({**json.loads(text), "files": {"/nowhere": [1, 2, 3, 4, 5]}}),
        lambda text: json.dumps({**json.loads(text), "files": {"/a\u0000b": None}}),
    ],
    ids=["truncated", "garbage", "wrong-types", "unknown-key-file", "nul-in-a-path"],
)
def test_a_damaged_snapshot_takes_the_full_path(project: Project, damage: object) -> None:
    warm(project)
    path = project.path(SNAPSHOT)
    path.write_text(damage(path.read_text()))  # type: ignore[operator]
    proc = project.doit("fixtures", check=True)
    assert "0 generated, 3 up to date" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert imported(project)


def test_catalog_inputs_that_are_not_paths_are_refused_in_one_line(project: Project) -> None:
    project.edit("gens/agents.py", 'template="note.j2")', 'template="note.j2", catalog_inputs=[3])')
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "fixture 'notes/welcome': catalog_inputs holds 3, a int, not a path" in out, out
    project.edit("gens/agents.py", "catalog_inputs=[3]", 'catalog_inputs="gens/topics.txt"')
    out = project.doit("fixtures").stderr
    assert "catalog_inputs='gens/topics.txt' is a str, not a list" in out, out


def test_a_fixture_past_its_ttl_is_never_answered_from_the_snapshot(project: Project) -> None:
    project.edit("pyproject.toml", "concurrency = 4", 'concurrency = 4\nttl = "1d"')
    warm(project)
    quick(project)  # within the ttl: answered from the snapshot
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    env["HOTDATA_FAKE_LOG"] = str(project.log)
    digest = environment_digest(env)

    def fresh(name: str, data: str, meta: str, digest: str) -> bool:
        return True

    now = datetime.now(UTC)
    assert fresh_catalog(project.root, fresh, digest, now=now) is not None
    assert fresh_catalog(project.root, fresh, digest, now=now + timedelta(days=2)) is None


def test_an_upgrade_of_pydantic_or_jinja2_is_never_taken_for_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic writes the JSON Schemas and jinja2 renders the prompts that fingerprints hash: the
    quick path's environment key holds their installed dist-info folders, and no other library's."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = environment_digest({})
    (site / "rich-99.0.0.dist-info").mkdir()
    assert environment_digest({}) == before
    for upgrade in ("pydantic-99.0.0.dist-info", "pydantic_core-99.0.0.dist-info", "Jinja2-99.0.dist-info"):
        (site / upgrade).mkdir()
        after = environment_digest({})
        assert after != before, upgrade
        before = after
