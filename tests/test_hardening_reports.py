"""What hotdata reports about its fixtures, checked end to end (issue 15, "Reported wrong" and
"Found on real third-party schemas"): strict mode and the pytest report agree with `doit status`;
advice names `doit fixtures force=1`; a generator returning the wrong type; the catalog
document and the last failure after a failed run; waiting apart from generating; where the
build lock lives. Real doit subprocesses on a temp project, pytester sub-sessions for the plugin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import filelock
import pytest
from doit_project import Project, git
from test_pytest_plugin import GENERATORS as PLUGIN_GENERATORS
from test_pytest_plugin import PYPROJECT as PLUGIN_PYPROJECT
from test_pytest_plugin import SCHEMAS as PLUGIN_SCHEMAS

pytestmark = pytest.mark.slow

ALL = ["agents/crisis", "agents/deliberating", "notes/welcome"]
# a fixture's line in plain (non-terminal) output: `[done/total elapsed] text`
PROGRESS = re.compile(r"\[\d+/\d+ +\d+\.\ds\] (.*)")
FORCE_ADVICE = "(doit fixtures force=1 overwrites it)"
WELCOME_RETURN = 'return Note(title="Welcome aboard", body=draft.text)'


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    assert proj.calls() == ALL
    return proj


def summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("hotdata: "))


def fixture_lines(out: str) -> list[str]:
    """The per-fixture lines of a build's output, without their `[done/total elapsed]` prefix."""
    return [m[1] for line in out.splitlines() if (m := PROGRESS.fullmatch(line))]


def failed_list(out: str) -> dict[str, str]:
    """``{name: message}`` from the summary's "N fixture(s) failed:" list."""
    tail = out[out.index("fixture(s) failed:") :].splitlines()[1:]
    rows = [line[4:].split(": ", 1) for line in tail if line.startswith("  - ")]
    return {name: message for name, message in rows}


def status_lines(project: Project) -> dict[str, str]:
    """`doit status` (text): each fixture's line by name."""
    out = project.doit("status", check=True).stdout
    return {line.split()[0]: line for line in out.splitlines() if line.split() and "/" in line.split()[0]}


def iso_days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def age_record(meta: Path, days: int) -> None:
    """Move a record's generated_at into the past (a ttl expires without waiting for it)."""
    record = json.loads(meta.read_text())
    record["generated_at"] = iso_days_ago(days)
    meta.write_text(json.dumps(record))


# -- 1. strict mode and --hotdata-report agree with `doit status` ---------------------------

PLUGIN_TESTS = """
def test_ada(hotdata):
    assert hotdata.load("agents/ada").name == "Ada"


def test_bo(hotdata):
    assert hotdata.load("agents/bo").name == "Bo"
"""


@pytest.fixture
def plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for key in [k for k in os.environ if k.startswith("HOTDATA_")]:
        monkeypatch.delenv(key)  # the sub-session reads the project's settings only
    pytester.makefile(".toml", pyproject=PLUGIN_PYPROJECT)
    (pytester.path / "gens").mkdir()
    (pytester.path / "gens" / "__init__.py").write_text("")
    (pytester.path / "gens" / "schemas.py").write_text(PLUGIN_SCHEMAS)
    (pytester.path / "gens" / "agents.py").write_text(PLUGIN_GENERATORS)
    (pytester.path / "templates").mkdir()
    (pytester.path / "templates" / "ada.j2").write_text("Describe Ada.\n")
    (pytester.path / "dodo.py").write_text(
        "from hotdata.make import doit_project\nglobals().update(doit_project())\n"
    )
    pytester.makepyfile(test_uses=PLUGIN_TESTS)
    build = run_doit(pytester.path, "fixtures")
    assert build.returncode == 0, build.stdout + build.stderr
    return pytester


def run_doit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doit", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def doit_status_rows(cwd: Path) -> dict[str, dict[str, Any]]:
    proc = run_doit(cwd, "status", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {row["name"]: row for row in json.loads(proc.stdout[proc.stdout.index("[") :])}


def report_section(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"=+ hotdata =+", line))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("="))
    return [line for line in lines[start + 1 : end] if line]


def make_template_change(root: Path) -> None:
    (root / "templates" / "ada.j2").write_text("Describe Ada, warmly.\n")


def expire_fixture_ttl(root: Path) -> None:
    age_record(root / "fixtures" / "agents" / "ada.meta.json", days=10)  # @fixture(ttl="7d")


def expire_project_ttl(root: Path) -> None:
    # a ttl set in [tool.hotdata] after the build: the record itself carries none
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().rstrip("\n") + '\nttl = "30d"\n')
    record = json.loads((root / "fixtures" / "agents" / "bo.meta.json").read_text())
    assert record.get("ttl_seconds") is None
    age_record(root / "fixtures" / "agents" / "bo.meta.json", days=40)


@pytest.mark.parametrize(
    ("make_stale", "expected"),
    [
        pytest.param(
            make_template_change,
            {"agents/ada": "template ada.j2 changed", "agents/bo": "template ada.j2 changed"},
            id="template-change",
        ),
        pytest.param(expire_fixture_ttl, {"agents/ada": "ttl 7d expired 3d ago"}, id="fixture-ttl"),
        pytest.param(expire_project_ttl, {"agents/bo": "ttl 30d expired 10d ago"}, id="pyproject-ttl"),
    ],
)
def test_strict_mode_and_the_report_agree_with_doit_status(
    plugin_project: pytest.Pytester, make_stale: Callable[[Path], None], expected: dict[str, str]
) -> None:
    root = plugin_project.path
    result = plugin_project.runpytest_subprocess("--hotdata-report", "test_uses.py")
    assert report_section(result.outlines) == [
        "agents/ada: fresh",
        "agents/bo: fresh",
        "2 used, 0 stale, 0 missing, 0 invalid, 0 edited, 0 fell back",
    ]

    make_stale(root)
    rows = doit_status_rows(root)
    for name in ("agents/ada", "agents/bo"):
        if name in expected:
            assert (rows[name]["state"], rows[name]["reason"]) == ("stale", expected[name])
        else:
            assert rows[name]["state"] == "fresh"

    result = plugin_project.runpytest_subprocess("--hotdata-report", "test_uses.py")
    result.assert_outcomes(passed=2)  # not strict: a stale fixture still loads
    assert report_section(result.outlines) == [
        *(f"{n}: stale: {rows[n]['reason']}" if n in expected else f"{n}: fresh" for n in sorted(rows)),
        f"2 used, {len(expected)} stale, 0 missing, 0 invalid, 0 edited, 0 fell back",
    ]

    result = plugin_project.runpytest_subprocess("--hotdata-strict", "test_uses.py")
    result.assert_outcomes(passed=2 - len(expected), failed=len(expected))
    for name, reason in expected.items():
        assert rows[name]["reason"] == reason
        result.stdout.fnmatch_lines(
            [f"*hotdata fixture {name} is stale: {reason} (*{name}.json). Rebuild it with `doit fixtures`*"]
        )

    build = run_doit(root, "fixtures")  # the build agrees too: it rebuilds exactly those
    assert build.returncode == 0, build.stdout
    assert f"{len(expected)} generated, {2 - len(expected)} up to date" in summary(build.stdout)
    result = plugin_project.runpytest_subprocess("--hotdata-strict", "--hotdata-report", "test_uses.py")
    result.assert_outcomes(passed=2)


# -- 2. and 4. the advice names `doit fixtures force=1` ------------------------------------

LOAD_WELCOME = """
from hotdata import HotData
from gens.schemas import Note

try:
    note = HotData.from_name("fixtures", "notes/welcome", Note).load()
except Exception as exc:
    print(type(exc).__name__)
    print(exc)
else:
    print("loaded", note.title)
"""


def load_welcome(project: Project) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WELCOME],
        cwd=project.root,
        env=project._env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_an_invalid_fixture_advises_doit_fixtures_force_1_and_that_advice_works(project: Project) -> None:
    data = project.path("fixtures/notes/welcome.json")
    data.write_text('{"title": 3, "body": "Welcome aboard."}\n')

    out = load_welcome(project)
    assert out.splitlines()[0] == "FixtureInvalidError"
    assert out.splitlines()[1].startswith("fixture file ") and out.splitlines()[1].endswith(
        "fixtures/notes/welcome.json is invalid (1 error(s)):"
    )
    assert out.splitlines()[2:] == [
        "  - at title: Input should be a valid string",
        "Fix the file by hand, or regenerate it with `doit fixtures force=1`.",
    ]
    assert "--force" not in out

    proc = project.doit("fixtures", check=True)  # a hand edit, even a broken one, is kept
    assert f"!! notes/welcome: edited by hand and no longer valid, kept {FORCE_ADVICE}" in fixture_lines(
        proc.stdout
    )
    assert "--force" not in proc.stdout + proc.stderr
    assert data.read_text() == '{"title": 3, "body": "Welcome aboard."}\n'

    project.doit("fixtures", "force=1", check=True)  # exactly what the advice says
    assert load_welcome(project) == "loaded Welcome aboard\n"
    assert project.status()["notes/welcome"]["state"] == "fresh"


def test_a_hand_edited_fixture_is_kept_with_the_force_1_advice(project: Project) -> None:
    data = project.path("fixtures/notes/welcome.json")
    curated = json.loads(data.read_text())
    curated["body"] = "Hand-curated body"
    data.write_text(json.dumps(curated, indent=2) + "\n")
    project.edit("templates/note.j2", "welcome", "warm welcome")  # a plain rebuild would regenerate it

    row = status_lines(project)["notes/welcome"]
    assert row.endswith("data edited by hand since generation (kept)")
    assert "rebuild" not in row

    proc = project.doit("fixtures", check=True)
    assert f"!! notes/welcome: edited by hand, kept {FORCE_ADVICE}" in fixture_lines(proc.stdout)
    assert "1 edited and kept" in summary(proc.stdout)
    assert "--force" not in proc.stdout + proc.stderr
    assert project.calls() == []
    assert json.loads(data.read_text())["body"] == "Hand-curated body"


# -- 3. a generator returning the wrong type ------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        pytest.param('{"title": draft.text}', "at body: Field required", id="dict-missing-a-field"),
        pytest.param("42", "at (root): Input should be an object", id="int"),
    ],
)
def test_a_generator_returning_the_wrong_type_writes_nothing(
    project: Project, returned: str, error: str
) -> None:
    notes = project.path("fixtures/notes")
    before = {p.name: p.read_bytes() for p in notes.iterdir()}
    project.edit("gens/agents.py", WELCOME_RETURN, f"return {returned}")

    proc = project.doit("fixtures")
    assert proc.returncode != 0
    message = (
        "fixture notes/welcome: generator welcome_note returned a value that does not validate "
        f"against Note: {error}; nothing was written"
    )
    assert f"FAILED notes/welcome: {message}" in fixture_lines(proc.stdout)
    assert failed_list(proc.stdout) == {"notes/welcome": message}
    assert summary(proc.stdout).startswith("hotdata: 0 generated, 2 up to date, 1 failed, ")
    assert "is invalid" not in proc.stdout  # nothing was written, so no file is invalid
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Warning" not in proc.stderr  # no pydantic serializer warning with a source line
    assert {p.name: p.read_bytes() for p in notes.iterdir()} == before  # the old pair, no stray file
    assert project.calls() == []  # the draft was replayed: post-processing only


# -- 5. the catalog document after a failed run ---------------------------------------------

BROKEN = """from hotdata.make import fixture

from .schemas import Note


@fixture("notes/broken", schema=Note)
async def broken(ctx):
    {body}
"""


def test_the_catalog_is_written_after_a_failed_run_marking_the_failures(project: Project) -> None:
    readme = project.path("fixtures/README.md")
    assert "notes/broken" not in readme.read_text()
    project.path("gens/broken.py").write_text(
        BROKEN.format(body='raise RuntimeError("the archive is unreachable")')
    )
    project.edit("gens/agents.py", WELCOME_RETURN, 'raise RuntimeError("no desk assigned yet")')

    proc = project.doit("fixtures")
    assert proc.returncode != 0
    assert "2 failed" in summary(proc.stdout)
    assert "FAILED fixtures:" not in proc.stdout + proc.stderr  # no raw doit task failure
    assert "could not finish the run" not in proc.stdout

    rows = {line.split("`")[1]: line for line in readme.read_text().splitlines() if line.startswith("| `")}
    assert rows["notes/broken"] == (
        "| `notes/broken` | `Note` | `gens.broken:broken` | - | - | forever | missing (last build failed) |"
    )
    assert re.fullmatch(
        r"\| `notes/welcome` \| `Note` \| `gens\.agents:welcome_note` \| hotdata-fake \| "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \| forever \| stale \(last build failed\) \|",
        rows["notes/welcome"],
    )
    for name in ("agents/crisis", "agents/deliberating"):
        assert re.fullmatch(
            rf"\| `{name}` \| `Agent` \| `gens\.agents:agent` \| hotdata-fake \| "
            r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \| forever \| fresh \|",
            rows[name],
        )

    project.path("gens/broken.py").write_text(BROKEN.format(body='return Note(title="t", body="b")'))
    project.edit("gens/agents.py", 'raise RuntimeError("no desk assigned yet")', WELCOME_RETURN)
    project.doit("fixtures", check=True)
    rows = {line.split("`")[1]: line for line in readme.read_text().splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted([*ALL, "notes/broken"])
    assert all(row.endswith("| forever | fresh |") for row in rows.values()), rows


# -- 6. the last failure of each fixture, shown by `doit status` ----------------------------

LONG_REASON = "the archive at https://archive.example.invalid/notes is unreachable: " + "; ".join(
    f"attempt {i} timed out after {i * 5}s" for i in range(1, 31)
)


def test_the_last_failure_is_kept_and_shown_in_full_until_a_build_succeeds(project: Project) -> None:
    project.path("gens/broken.py").write_text(BROKEN.format(body=f"raise RuntimeError({LONG_REASON!r})"))
    proc = project.doit("fixtures")
    assert proc.returncode != 0
    message = failed_list(proc.stdout)["notes/broken"]
    assert message.startswith(
        f"fixture notes/broken: generator broken raised RuntimeError: {LONG_REASON} ("
    ) and message.endswith("broken.py, line 8)")
    assert len(message) > 1000

    kept = json.loads(project.path(".hotdata/failures.json").read_text())
    assert list(kept) == ["notes/broken"]
    assert kept["notes/broken"]["message"] == message
    at = datetime.fromisoformat(kept["notes/broken"]["at"])
    assert at.tzinfo is not None and at <= datetime.now(UTC)

    row = project.status()["notes/broken"]
    assert row["state"] == "missing"
    assert row["last_failure"] == message
    assert re.fullmatch(rf".+; the last build failed \d+[smhd] ago: {re.escape(message)}", row["reason"])
    line = status_lines(project)["notes/broken"]
    assert re.search(rf"; the last build failed \d+[smhd] ago: {re.escape(message)}$", line)
    assert all(r["last_failure"] is None for n, r in project.status().items() if n != "notes/broken")

    project.path("gens/broken.py").write_text(BROKEN.format(body='return Note(title="t", body="b")'))
    proc = project.doit("fixtures", check=True)
    assert summary(proc.stdout).startswith("hotdata: 1 generated, 3 up to date, 0 failed, ")
    assert json.loads(project.path(".hotdata/failures.json").read_text()) == {}
    row = project.status()["notes/broken"]
    assert (row["state"], row["reason"], row["last_failure"]) == ("fresh", "up to date", None)
    assert "last build failed" not in project.doit("status", check=True).stdout


# -- 7. time generating and time waiting, apart ---------------------------------------------

GENERATED = re.compile(
    r"\.  (?P<name>\S+) generated \((?P<seconds>\d+\.\d)s(?:, waited (?P<waited>\d+\.\d)s)?, "
    r"\d+ call\(s\), \d+ tokens\)"
)


def test_waiting_for_a_concurrency_slot_is_reported_apart(project: Project) -> None:
    project.edit("templates/partials/voice.j2", "vividly", "boldly")  # new requests: no replay
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit(
        "fixtures", env={"HOTDATA_CONCURRENCY": "1", "HOTDATA_FAKE_LATENCY": "0.5"}, check=True
    )
    assert project.calls() == ALL
    built = [m for line in fixture_lines(proc.stdout) if (m := GENERATED.fullmatch(line))]
    assert sorted(m["name"] for m in built) == ALL, proc.stdout
    # one slot: every fixture after the first waited for the one before it to finish
    assert [m["waited"] is not None for m in built][1:] == [True, True], proc.stdout


# -- 8. the build lock lives in .hotdata/, which ignores itself ------------------------------


def test_the_build_lock_lives_in_the_self_ignoring_state_directory(project: Project) -> None:
    state = project.path(".hotdata").resolve()  # as the build names it
    assert (state / ".gitignore").read_text() == "# hotdata's local state: never committed\n*\n"
    assert (state / "lock").exists()
    strays = [p for p in project.root.rglob("*.lock") if ".git" not in p.relative_to(project.root).parts]
    assert strays == []
    ignored = git(project.root, "check-ignore", "-v", ".hotdata/lock", ".hotdata/failures.json")
    assert ignored.splitlines() == [
        ".hotdata/.gitignore:2:*\t.hotdata/lock",
        ".hotdata/.gitignore:2:*\t.hotdata/failures.json",
    ]
    assert ".hotdata" not in git(project.root, "status", "--porcelain", "--untracked-files=all")

    # the lock a build takes is that file: a build waits while another holder has it
    project.edit("pyproject.toml", "concurrency = 4", "concurrency = 4\nlock_timeout = 60")
    project.edit("templates/note.j2", "welcome", "warm welcome")
    lock = filelock.FileLock(str(state / "lock"))
    lock.acquire(timeout=0)
    try:
        build = project.popen("fixtures")
        assert build.stderr is not None
        said = [build.stderr.readline()]  # blocks until the build says something on stderr
        while said[-1] and not said[-1].startswith("hotdata: another build holds"):
            said.append(build.stderr.readline())
        assert said[-1] == f"hotdata: another build holds {state / 'lock'}; waiting up to 60s\n", said
        assert project.calls() == []  # nothing generated while the lock is held elsewhere
    finally:
        lock.release()
    out, err = build.communicate(timeout=60)
    assert build.returncode == 0, out + err
    assert "1 generated" in summary(out)
    assert project.calls() == ["notes/welcome"]
    lock.acquire(timeout=0)  # released at the end of the build
    lock.release()
    assert [p for p in project.path("fixtures").rglob("*") if p.name.endswith(".lock")] == []


def test_a_build_whose_reader_has_gone_finishes_without_a_traceback(project: Project) -> None:
    """`doit fixtures force=1 | head -0`: the pipe's reading end is closed before the first line."""
    records = [project.path(f"fixtures/{name}.meta.json") for name in ALL]
    before = [json.loads(r.read_text())["generated_at"] for r in records]
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: every write to the pipe fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "doit", "fixtures", "force=1"],
            cwd=project.root,
            env=project._env(None),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 0  # the build itself succeeded; only its lines had no reader
    after = [json.loads(r.read_text())["generated_at"] for r in records]
    assert all(a != b for a, b in zip(after, before, strict=True))  # every fixture was rebuilt
