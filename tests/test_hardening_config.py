"""Issue 21, configuration and switches: a switch value that is neither on nor off, an unknown
`name=value`, a fixtures directory that would hold the project's files, values at the edges
(true for a number, infinite or 1e300 durations, NaN options, a `[tool] hotdata` that is no
table, a custom check that cannot be called), fixture names that differ only in case, and
this repository's `generators` leaking into a user project through the editable install.

Each case: real `doit` subprocesses on a temp project; what the user sees (one line, the exit
code), what is on disk, and what was billed (the fake model's calls).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doit_project import Project

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SWITCH_WORDS = "use 1, true, yes or on to turn it on, or 0, false, no or off to turn it off"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def refused(project: Project, proc: subprocess.CompletedProcess[str], line: str) -> None:
    """Refused in one line (``line`` is in it), with no traceback and no model call."""
    text = output(proc)
    assert proc.returncode != 0, text
    assert any(line in out_line for out_line in text.splitlines()), text
    assert "Traceback" not in text, text
    assert project.calls() == []


def committed(project: Project) -> dict[str, bytes]:
    """Every data file, record, staged pair and answer (the catalog document says how runs went)."""
    fixtures = project.path("fixtures")
    files = (p for p in sorted(fixtures.rglob("*")) if p.is_file() and p.name != "README.md")
    return {str(p.relative_to(fixtures)): p.read_bytes() for p in files}


# ---------------------------------------------------------------- switches


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["review=y"], {}, f"hotdata: review='y' is not a switch value: {SWITCH_WORDS}"),
        (["batch=y"], {}, "hotdata: batch='y' is not a switch value"),
        (["force=ture"], {}, "hotdata: force='ture' is not a switch value"),
        (["force="], {}, "hotdata: force='' is not a switch value"),
        (["forse=1"], {}, "hotdata: unknown argument forse=1: did you mean force=1? hotdata takes batch="),
        (["reveiw=1"], {}, "did you mean review=1?"),
        (["replay=sometimes"], {}, "hotdata: replay='sometimes' is not one of auto, only, off"),
        ([], {"HOTDATA_OFFLINE": "y"}, "hotdata: HOTDATA_OFFLINE='y' is not a switch value"),
        ([], {"HOTDATA_REVIEW": "maybe"}, "hotdata: HOTDATA_REVIEW='maybe' is not a switch value"),
        ([], {"HOTDATA_BATCH": "2"}, "hotdata: HOTDATA_BATCH='2' is not a switch value"),
        ([], {"HOTDATA_FORCE": "si"}, "hotdata: HOTDATA_FORCE='si' is not a switch value"),
    ],
)
def test_a_switch_that_is_neither_on_nor_off_is_refused_before_anything_happens(
    project: Project, args: list[str], env: dict[str, str], line: str
) -> None:
    project.edit("templates/note.j2", "welcome", "warm welcome")  # notes/welcome is stale: a build would call
    before = committed(project)
    proc = project.doit("fixtures", *args, env=env)
    refused(project, proc, line)
    assert len(output(proc).strip().splitlines()) == 1, output(proc)  # that line and nothing else
    assert committed(project) == before  # nothing overwritten, nothing staged
    for command in (["status", "--json"], ["review"], ["accept", "notes/welcome"], ["verify"]):
        again = project.doit(*command, *args, env=env)  # every command refuses it alike
        refused(project, again, line)
        assert len(output(again).strip().splitlines()) == 1, output(again)


def test_every_documented_spelling_is_taken(project: Project) -> None:
    project.edit("templates/note.j2", "welcome", "warm welcome")
    before = committed(project)
    offline = project.doit("fixtures", "review=No", env={"HOTDATA_OFFLINE": "ON"})
    assert offline.returncode != 0 and "model calls are disabled" in offline.stdout  # offline, truly
    assert project.calls() == [] and committed(project) == before
    staged = project.doit("fixtures", "review=YES", "force=off", env={"HOTDATA_OFFLINE": "false"}, check=True)
    assert ".  notes/welcome staged for review" in staged.stdout
    assert project.calls() == ["notes/welcome"]
    after = committed(project)
    assert after["notes/welcome.json"] == before["notes/welcome.json"]  # review: the committed pair stays
    assert "notes/welcome.json.new" in after
    project.doit("reject", "--all", check=True)
    forced = project.doit("fixtures:agents/crisis", "force=True", check=True)
    assert "1 generated" in forced.stdout


def test_the_pytest_plugin_refuses_a_strict_switch_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    env = {**os.environ, "HOTDATA_STRICT": "y"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert f"HOTDATA_STRICT='y' is not a switch value: {SWITCH_WORDS}" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- the fixtures directory


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (".", "fixtures_dir '.' in {root}/pyproject.toml (or HOTDATA_FIXTURES_DIR) is the project root"),
        ("", "fixtures_dir '' in {root}/pyproject.toml (or HOTDATA_FIXTURES_DIR) is the project root"),
        ("./", "is the project root"),
        ("..", "fixtures_dir '..' in {root}/pyproject.toml (or HOTDATA_FIXTURES_DIR) holds the project"),
        ("gens", "holds the project's generator module 'gens'"),
        ("templates", "holds the project's templates_dir"),
    ],
)
def test_a_fixtures_directory_that_holds_the_project_is_refused(
    project: Project, value: str, line: str
) -> None:
    project.path("README.md").write_text("# My project\n\nHand-written.\n")
    project.edit("pyproject.toml", 'fixtures_dir = "fixtures"', f'fixtures_dir = "{value}"')
    before = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    proc = project.doit("fixtures")
    refused(project, proc, line.format(root=project.root))
    assert "give the fixtures a directory of their own" in output(proc)
    after = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert {p: b for p, b in after.items() if p.name != ".doit.db"} == {
        p: b for p, b in before.items() if p.name != ".doit.db"
    }  # README.md untouched, nothing written anywhere


def test_the_environment_variable_is_held_to_the_same_rule(project: Project) -> None:
    proc = project.doit("fixtures", env={"HOTDATA_FIXTURES_DIR": "."})
    refused(project, proc, "fixtures_dir '.' in")


def test_the_catalog_never_overwrites_a_file_hotdata_did_not_write(project: Project) -> None:
    readme = project.path("fixtures/README.md")
    readme.write_text("# Our fixtures\n\nWritten by the team, by hand.\n")
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures")
    assert proc.returncode == 0, output(proc)
    assert "1 generated" in proc.stdout
    assert (
        f"hotdata: {readme} was not written by hotdata, so the fixture catalog is not written over it; "
        "move that file elsewhere to get the catalog"
    ) in proc.stdout
    assert readme.read_text() == "# Our fixtures\n\nWritten by the team, by hand.\n"
    assert project.calls() == ["notes/welcome"]
    catalog = project.doit("catalog")
    assert catalog.returncode != 0 and "was not written by hotdata" in output(catalog)
    assert readme.read_text().startswith("# Our fixtures")
    readme.unlink()  # moved away: the catalog comes back
    project.doit("catalog", check=True)
    assert readme.read_text().startswith("# Fixtures\n\nWritten by `doit fixtures`")


@pytest.mark.parametrize("which", ["fixtures", ".hotdata"])
def test_a_fixtures_or_state_directory_that_is_a_file_is_one_line(project: Project, which: str) -> None:
    path = project.path(which)
    shutil.rmtree(path)
    path.write_text("not a directory\n")
    what = "fixtures directory" if which == "fixtures" else "local state directory"
    for command in ("fixtures", "status", "validate"):
        proc = project.doit(command)
        refused(project, proc, f"hotdata: the {what} {path} is a file, not a directory; remove or rename it")
        assert "FileExistsError" not in output(proc)
    assert path.read_text() == "not a directory\n"


# ---------------------------------------------------------------- values at the edges


@pytest.mark.parametrize(
    ("setting", "env", "line"),
    [
        (
            "concurrency = true",
            {},
            "concurrency in {p} (or its HOTDATA_ variable): Input should be a valid integer (got True)",
        ),
        ("ttl = true", {}, "ttl in {p} (or its HOTDATA_ variable): ttl True is not a duration"),
        ("ttl = inf", {}, "ttl inf is longer than 100 years"),
        ("ttl = 1e300", {}, "ttl 1e+300 is longer than 100 years"),
        ('ttl = "99999999999999d"', {}, "ttl '99999999999999d' is longer than 100 years"),
        ("ttl = nan", {}, "ttl nan is not a number of seconds"),
        ("", {"HOTDATA_TTL": "9999999999w"}, "ttl '9999999999w' is longer than 100 years"),
        (
            "fixture_timeout = inf",
            {},
            "fixture_timeout in {p} (or its HOTDATA_ variable): Input should be a finite number",
        ),
        (
            "fixture_timeout = 1e300",
            {},
            "fixture_timeout in {p} (or its HOTDATA_ variable): Input should be less than or equal to 604800",
        ),
        (
            "lock_timeout = inf",
            {},
            "lock_timeout in {p} (or its HOTDATA_ variable): Input should be a finite number",
        ),
        (
            'offline = "y"',
            {},
            "offline in {p} (or its HOTDATA_ variable): Input should be a valid boolean (got 'y')",
        ),
        (
            "max_calls = 2.5",
            {},
            "max_calls in {p} (or its HOTDATA_ variable): Input should be a valid integer",
        ),
        (
            "model_options = { temperature = nan }",
            {},
            "model_options in {p} (or its HOTDATA_ variable): temperature is nan, which JSON cannot hold",
        ),
        ("model_options = { since = 1979-05-27 }", {}, "since is a date, not a JSON value"),
        ("[tool.hotdata.retries]\nrequest_timeout = inf", {}, "retries.request_timeout in {p}"),
        (
            "",
            {"HOTDATA_CONCURRENCY": "true"},
            "HOTDATA_CONCURRENCY='true': concurrency must be a whole number",
        ),
    ],
)
def test_values_at_the_edges_are_refused_in_one_line(
    project: Project, setting: str, env: dict[str, str], line: str
) -> None:
    replaced = setting if setting.startswith("concurrency") else f"concurrency = 4\n{setting}"
    project.edit("pyproject.toml", "concurrency = 4", replaced)
    for command in ("fixtures", "status"):
        proc = project.doit(command, env=env)
        refused(project, proc, line.format(p=project.path("pyproject.toml")))
        assert "OverflowError" not in output(proc)


@pytest.mark.parametrize("table", ['hotdata = "x"', "hotdata = 5"])
def test_a_tool_hotdata_that_is_not_a_table_is_one_line(project: Project, table: str) -> None:
    project.path("pyproject.toml").write_text(
        f'[project]\nname = "demo-project"\nversion = "0"\n\n[tool]\n{table}\n'
    )
    proc = project.doit("fixtures")
    kind = "str ('x')" if "x" in table else "int (5)"
    refused(
        project,
        proc,
        f"'hotdata' under [tool] in {project.path('pyproject.toml')} is a {kind}, not a table; "
        "write the settings under [tool.hotdata]",
    )
    loads = subprocess.run(  # the runtime finds the fixtures where the default says, without a traceback
        [sys.executable, "-c", "from hotdata import registry; print(registry.root)"],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert loads.returncode == 0 and loads.stdout.strip() == str(project.path("fixtures")), loads.stderr


CHECKS = """
NOT_A_FUNCTION = 5


def one_argument(data):
    return []


async def coroutine(data, context):
    return []
"""


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        (
            "gens.checks:NOT_A_FUNCTION",
            "quality check 'gens.checks:NOT_A_FUNCTION' is a int, not a function (data, context)",
        ),
        (
            "gens.checks:one_argument",
            "quality check 'gens.checks:one_argument' takes (data), but hotdata calls it as check(data, context)",
        ),
        ("gens.checks:coroutine", "quality check 'gens.checks:coroutine' is an 'async def' function"),
        ("gens.checks:missing", "quality check 'gens.checks:missing' is missing"),
    ],
)
def test_a_custom_check_that_cannot_be_called_stops_the_catalog_once(
    project: Project, entry: str, line: str
) -> None:
    project.path("gens/checks.py").write_text(CHECKS)
    project.edit(
        "pyproject.toml",
        "concurrency = 4",
        f'concurrency = 4\n\n[tool.hotdata.quality]\ncustom = ["{entry}"]',
    )
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures")
    refused(project, proc, f"[tool.hotdata.quality] custom: {line}")
    assert "FAILED fixtures:agents" not in proc.stdout and "FAILED fixtures:notes" not in proc.stdout
    assert sum("quality check" in out_line for out_line in output(proc).splitlines()) <= 2  # not per fixture
    assert "TypeError" not in output(proc)


QUALITY_ON_A_FIXTURE = """
from hotdata.make import fixture

from .schemas import Note


def one_argument(data):
    return []


@fixture("notes/checked", schema=Note, template="note.j2", quality={quality})
async def checked(ctx):
    return Note(title="t", body="b")
"""


@pytest.mark.parametrize(
    ("quality", "line"),
    [
        ("one_argument", "quality check one_argument (quality= of fixture 'notes/checked') takes (data)"),
        ("[one_argument]", "quality check one_argument (quality= of fixture 'notes/checked') takes (data)"),
        ("5", "quality=5 is a int; give a dict of [tool.hotdata.quality] keys"),
        ('"no_lorem"', "quality='no_lorem' is a str"),
    ],
)
def test_a_fixture_quality_check_that_cannot_be_called_is_refused_at_declaration(
    project: Project, quality: str, line: str
) -> None:
    project.path("gens/checked.py").write_text(QUALITY_ON_A_FIXTURE.replace("{quality}", quality))
    refused(project, project.doit("fixtures"), line)


def test_a_timeout_or_options_on_a_fixture_are_held_to_the_same_rules(project: Project) -> None:
    source = QUALITY_ON_A_FIXTURE.replace("quality={quality}", "timeout=float('inf')")
    project.path("gens/checked.py").write_text(source)
    refused(
        project, project.doit("fixtures"), "timeout=inf must be a positive number of seconds, at most 604800"
    )
    source = QUALITY_ON_A_FIXTURE.replace("quality={quality}", "model_options={'temperature': float('nan')}")
    project.path("gens/checked.py").write_text(source)
    refused(project, project.doit("fixtures"), "model_options temperature is nan, which JSON cannot hold")


# ---------------------------------------------------------------- names that differ only in case

CASES = """
from hotdata.make import fixture

from .schemas import Note


@fixture("n/{which}", schema=Note, template="note.j2", variants=[{"which": "Mixed"}, {"which": "mixed"}])
async def mixed(ctx, which):
    return Note(title=which, body="b")
"""


def test_names_that_differ_only_in_case_are_refused(project: Project) -> None:
    project.path("gens/cases.py").write_text(CASES)
    proc = project.doit("fixtures")
    refused(
        project,
        proc,
        "fixture 'n/mixed' (gens.cases:mixed) differs from fixture 'n/Mixed' (gens.cases:mixed) only in "
        "case; on macOS and Windows they are one file. Rename one of them",
    )
    assert not project.path("fixtures/n").exists()


# ---------------------------------------------------------------- this repository's generators


def test_a_user_project_never_sees_this_repositorys_generators(tmp_path: Path) -> None:
    """hotdata's editable install puts this repository's root on sys.path (hatchling's .pth);
    PYTHONPATH does the same here whatever the install."""
    root = tmp_path / "user"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "user"\nversion = "0"\n')
    (root / "dodo.py").write_text(
        "from hotdata.make import doit_project\n\nglobals().update(doit_project())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    env["PYTHONPATH"] = str(REPO)
    assert (
        subprocess.run(
            [sys.executable, "-c", "import generators"], cwd=root, env=env, capture_output=True
        ).returncode
        == 0
    )  # the repository's package is importable from the user's project
    listing = subprocess.run(
        [sys.executable, "-m", "doit", "list", "--all"], cwd=root, env=env, capture_output=True, text=True
    )
    text = listing.stdout + listing.stderr
    assert "agent_snapshots" not in text and "garden_states" not in text, text
    assert f"generator module 'generators' was not found in the project {root}" in text
    assert "Traceback" not in text
    build = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures"], cwd=root, env=env, capture_output=True, text=True
    )
    assert build.returncode != 0
    assert not (root / "fixtures").exists()  # nothing of this repository's catalog written there
