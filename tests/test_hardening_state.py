"""Issue 21, local state, secrets in cut messages and a new user's trial: a damaged or
hand-edited `.hotdata/` index or failure log, `.hotdata` or `fixtures` being a file, an
index that says fresh past the ttl, a key cut in two by a replay miss or a diff, a fixture
declared by its path, a replayed build's counts, the seed's registry name, and fixtures
made by `doit generate`.

Real `doit` subprocesses (and pytest sub-sessions) on temp projects; what the user sees,
what is on disk and what was billed (the fake model's calls).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from doit_project import Project

from hotdata import HotData

pytestmark = pytest.mark.slow

SECRET = "sk-hotdata-CUTMESSAGE-0123456789abcdefghij"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(tmp_path)
    proj.doit("fixtures", check=True)
    proj.calls()
    return proj


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("hotdata: "))


def fragments(secret: str, size: int = 10) -> list[str]:
    """Every piece of ``secret`` long enough to matter: a cut key leaks as one of them."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


# ---------------------------------------------------------------- 5. local state


@pytest.mark.parametrize(
    "index",
    [
        [],
        None,
        "a string",
        {"format": 2, "entries": []},
        {"format": 2, "entries": {"agents/crisis": []}},
        {"format": 2, "entries": {"agents/crisis": {"data": "abcde", "meta": [1, 2, 3, 4, 5]}}},
        {
            "format": 2,
            "entries": {
                "agents/crisis": {
                    "data": [1, 2, 3, 4, True],
                    "meta": [1, 2, 3, 4, 5],
                    "digest": 5,
                    "generated_at": [],
                    "model": None,
                    "templates": "agent.j2",
                    "schemas_used": [3],
                }
            },
        },
    ],
)
def test_a_wrong_shaped_index_is_ignored_like_garbage(project: Project, index: object) -> None:
    state = project.path(".hotdata")
    (state / "index.json").write_text(json.dumps(index))
    (state / "failures.json").write_text(json.dumps(index))  # the failure log: the same shapes
    proc = project.doit("fixtures")
    assert proc.returncode == 0, output(proc)
    assert "Traceback" not in output(proc)
    assert summary(proc.stdout).startswith("hotdata: 0 generated, 3 up to date, 0 failed")
    assert project.calls() == []
    project.edit("templates/agent.j2", "Describe", "Portray")  # the index never hides a change
    proc = project.doit("fixtures")
    assert summary(proc.stdout).startswith("hotdata: 2 generated, 1 up to date, 0 failed")
    assert project.calls() == ["agents/crisis", "agents/deliberating"]


def test_a_failure_log_entry_of_another_shape_is_dropped(project: Project) -> None:
    project.edit("templates/note.j2", "welcome", "warm welcome")  # stale: its last failure would be shown
    (project.path(".hotdata") / "failures.json").write_text(
        json.dumps(
            {
                "notes/welcome": {"message": "naive date", "at": "2020-01-01T00:00:00"},
                "agents/crisis": {"message": 5, "at": "2020-01-01T00:00:00+00:00"},
            }
        )
    )
    for args in (("status",), ("status", "--json")):
        proc = project.doit(*args)
        assert proc.returncode == 0, output(proc)
        assert "Traceback" not in output(proc) and "naive date" not in proc.stdout


def test_local_state_files_that_are_directories_cost_a_line_at_most(project: Project) -> None:
    state = project.path(".hotdata")
    for name in ("index.json", "failures.json"):
        (state / name).unlink(missing_ok=True)
        (state / name).mkdir()
    project.path("gens/broken.py").write_text(BROKEN)  # a failure the log cannot keep
    proc = project.doit("fixtures")
    assert "Traceback" not in output(proc) and "IsADirectoryError" not in output(proc), output(proc)
    assert summary(proc.stdout).startswith("hotdata: 0 generated, 3 up to date, 1 failed")
    assert project.doit("status").returncode == 0
    (state / "lock").unlink(missing_ok=True)
    (state / "lock").mkdir()
    project.edit("templates/note.j2", "welcome", "warm welcome")
    proc = project.doit("fixtures")
    assert proc.returncode != 0 and "Traceback" not in output(proc)
    assert (
        f"cannot take the build lock {state / 'lock'} (Is a directory); it is hotdata's local state"
        in proc.stdout
    )
    assert project.calls() == []


BROKEN = """
from hotdata.make import fixture

from .schemas import Note


@fixture("notes/broken", schema=Note)
async def broken(ctx):
    raise RuntimeError("on purpose")
"""


TTL_INDEX = """
import json, time
from datetime import UTC, datetime

from hotdata.make import load_config
from hotdata.make.plan import FreshIndex, InputResolver, Planner, load_catalog

# The index as a build on 2020-01-02 left it: every fixture verified fresh (its files old enough).
config = load_config()
catalog = load_catalog(config)
index = FreshIndex(config.state_path, clock_ns=lambda: time.time_ns() + 10**12)
planner = Planner(InputResolver(config), catalog=catalog, clock=lambda: datetime(2020, 1, 2, tzinfo=UTC), index=index)
states = [planner.status(spec).state.value for spec in catalog]
index.save()
doc = json.loads(index.path.read_text())
for entry in doc["entries"].values():
    entry["expires_at"] = 9e99  # what a format-1 index kept, tampered: never trusted
index.path.write_text(json.dumps(doc))
print(states, sorted(doc["entries"]))
"""


def test_an_index_that_says_fresh_never_outlives_the_records_ttl(project: Project) -> None:
    project.edit("pyproject.toml", "concurrency = 4", 'concurrency = 4\nttl = "7d"')
    project.doit("fixtures", "force=1", check=True)  # records written with the ttl (replayed: no call)
    meta = project.path("fixtures/agents/crisis.meta.json")
    record = json.loads(meta.read_text())
    record["generated_at"] = "2020-01-01T00:00:00.000000Z"
    meta.write_text(json.dumps(record))
    status = project.status()  # (a full verification, which drops index entries it finds stale)
    assert status["agents/crisis"]["state"] == "stale"
    assert status["agents/crisis"]["reason"].startswith("ttl 7d expired")
    made = subprocess.run(
        [sys.executable, "-c", TTL_INDEX], cwd=project.root, capture_output=True, text=True, check=True
    )
    # on 2020-01-02 only agents/crisis was fresh (the others' records are dated in its future)
    assert made.stdout.strip() == "['fresh', 'stale', 'stale'] ['agents/crisis']", made.stdout
    proc = project.doit("fixtures", check=True)
    assert ".  agents/crisis generated" in proc.stdout
    assert summary(proc.stdout).startswith("hotdata: 1 generated, 2 up to date, 0 failed")
    assert project.calls() == ["agents/crisis"]  # an expired ttl asks again
    assert project.status()["agents/crisis"]["state"] == "fresh"


def test_a_records_unusable_ttl_reads_stale_instead_of_raising(project: Project) -> None:
    agent = agent_schema(project)
    meta = project.path("fixtures/agents/crisis.meta.json")
    record = json.loads(meta.read_text())
    for value in ("1e300", "NaN", "-5"):
        meta.write_text(json.dumps(record).replace('"ttl_seconds": null', f'"ttl_seconds": {value}'))
        status = HotData(project.path("fixtures/agents/crisis.json"), agent).status()
        assert status.state.value == "stale", value
        assert status.reason.startswith("the record's ttl_seconds cannot be used: ttl "), status.reason
    assert project.status()["agents/crisis"]["state"] == "fresh"  # the build counts its own ttl


# ---------------------------------------------------------------- 7. secrets in cut messages

SECRET_NOTES = """
import os

from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("mottos/{slot}", schema=Note, template="motto.j2", variants=[{"slot": "plain", "motto": os.environ["MY_API_KEY"]}])
async def motto(ctx: GenerationContext, slot: str, motto: str) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title=f"Motto {slot}", body=draft.text)
"""


def test_a_key_in_a_prompt_is_never_cut_into_a_replay_miss(project: Project) -> None:
    project.path("gens/mottos.py").write_text(SECRET_NOTES)
    project.path("templates/motto.j2").write_text(
        "[fixture {{ fixture_name }}]\nOur motto is {{ motto }} and we write a note about it.\n"
    )
    env = {"MY_API_KEY": SECRET}
    project.doit("fixtures", env=env, check=True)
    assert project.calls() == ["mottos/plain"]
    project.edit("templates/motto.j2", "a note", "a short note")  # a request never answered
    for args in (("verify",), ("fixtures", "replay=only")):
        proc = project.doit(*args, env=env)
        text = output(proc)
        assert proc.returncode != 0
        assert "the prompt differs from the recorded one at" in text, text
        assert "short" in text  # the excerpt shows the real difference, not the key
        assert not [f for f in fragments(SECRET) if f in text], text
    assert project.calls() == []


def test_a_key_in_committed_data_is_never_cut_into_a_diff(project: Project) -> None:
    data = project.path("fixtures/notes/welcome.json")
    note = json.loads(data.read_text())
    note["body"] = f"{SECRET} " + "and a long hand-written tail that pushes the value past any cut " * 3
    note["title"] = SECRET + " and more words to pass the hundred characters of a short value" * 2
    data.write_text(json.dumps(note))
    proc = project.doit("verify", env={"MY_API_KEY": SECRET})
    text = output(proc)
    assert proc.returncode != 0 and "notes/welcome: the committed data differs" in text, text
    assert "***" in text
    assert not [f for f in fragments(SECRET) if f in text], text
    assert project.calls() == []


# ---------------------------------------------------------------- the new user's trial: a fixture by its path


def agent_schema(project: Project) -> type:
    """The project's own ``Agent`` schema (every test project is a copy of one template)."""
    sys.path.insert(0, str(project.root))
    try:
        from gens.schemas import Agent  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(project.root))
    return Agent  # type: ignore[no-any-return]


CONFTEST = """
from hotdata import HotData
from hotdata.pytest_plugin import hotdata_fixture

from gens.schemas import Agent

crisis = hotdata_fixture(HotData("fixtures/agents/crisis.json", Agent))
"""

TESTS = """
def test_crisis(crisis):
    assert crisis.phase
"""


def test_a_fixture_declared_by_its_path_is_the_catalogs_fixture(
    project: Project, pytester: pytest.Pytester
) -> None:
    for rel in ("pyproject.toml", "dodo.py", "gens", "templates", "fixtures"):
        source = project.path(rel)
        if source.is_dir():
            shutil.copytree(source, pytester.path / rel)
        else:
            (pytester.path / rel).write_bytes(source.read_bytes())
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_path=TESTS)
    result = pytester.runpytest_subprocess("--hotdata-strict", "--hotdata-report", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["agents/crisis: fresh", "1 used, 0 stale, 0 missing, 0 invalid, 0 edited, 0 fell back"]
    )
    assert "not declared in the project's catalog" not in result.stdout.str()

    template = pytester.path / "templates" / "agent.j2"
    template.write_text(template.read_text().replace("Describe", "Portray"))
    result = pytester.runpytest_subprocess("--hotdata-strict", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*hotdata fixture agents/crisis is stale: template agent.j2 changed*"])
    result = pytester.runpytest_subprocess("--hotdata-report", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["agents/crisis: stale: template agent.j2 changed", "1 used, 1 stale, *"])
    assert "not declared in the project's catalog" not in result.stdout.str()
    status = subprocess.run(
        [sys.executable, "-m", "doit", "status", "--json"], cwd=pytester.path, capture_output=True, text=True
    )
    rows = {r["name"]: r for r in json.loads(status.stdout[status.stdout.index("[") :])}
    assert rows["agents/crisis"]["reason"] == "template agent.j2 changed"  # strict and doit status agree


def test_the_runtime_status_says_which_checks_it_could_not_run(project: Project) -> None:
    project.edit("templates/agent.j2", "Describe", "Portray")
    status = HotData(project.path("fixtures/agents/crisis.json"), agent_schema(project)).status()
    assert status.state.value == "fresh"  # data, record, schema and ttl: all it can see
    assert "templates" in status.skipped and "generator" in status.skipped
    assert str(status).startswith("fresh: up to date (not checked here: fingerprint, format, name, schema, ")
    assert project.status()["agents/crisis"]["state"] == "stale"


# ---------------------------------------------------------------- replayed counts, the seed's registry name


def test_a_replayed_build_counts_no_call_per_fixture_as_in_the_summary(project: Project) -> None:
    project.edit("gens/agents.py", 'title="Welcome aboard"', 'title="Welcome aboard!"')  # no new request
    proc = project.doit("fixtures", check=True)
    line = next(out for out in proc.stdout.splitlines() if "notes/welcome generated" in out)
    assert line.endswith(", 0 call(s), 1 replayed, 0 tokens)"), line
    assert "0 model call(s), 1 replayed, 0 tokens" in summary(proc.stdout)
    assert project.calls() == []
    record = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    assert record["usage"]["calls"] == 1 and record["replayed"] == 1  # the record keeps what the data cost


def test_the_seeds_registry_name_still_imports() -> None:
    code = textwrap.dedent(
        """
        from hotdata import HotData, hotdata_registry
        import hotdata
        assert hotdata_registry is hotdata.registry
        assert "hotdata_registry" in hotdata.__all__
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


# ---------------------------------------------------------------- ad hoc fixtures


def generate(project: Project, *extra: str) -> subprocess.CompletedProcess[str]:
    return project.doit(
        "generate",
        "--schema",
        "gens.schemas:Note",
        "--prompt",
        "[fixture {{ fixture_name }}] A note about {{ topic }}",
        "--name",
        "adhoc/rain",
        "--param",
        "topic:rain",
        *extra,
    )


def test_an_ad_hoc_fixture_is_counted_by_every_command(project: Project) -> None:
    proc = generate(project)
    assert proc.returncode == 0, output(proc)
    assert "generated adhoc/rain (1 model call(s))" in proc.stdout
    assert project.calls() == ["adhoc/rain"]
    declared = json.loads(project.path("fixtures/.adhoc/adhoc/rain.json").read_text())
    assert declared == {
        "format": 1,
        "name": "adhoc/rain",
        "schema_name": "gens.schemas:Note",
        "template": "",
        "prompt": "[fixture {{ fixture_name }}] A note about {{ topic }}",
        "params": {"topic": "rain"},
    }
    assert project.status()["adhoc/rain"]["state"] == "fresh"
    assert "doit validate: all 4 fixture(s) valid" in project.doit("validate", check=True).stdout
    verify = project.doit("verify", check=True)
    assert (
        "doit verify: all 4 fixture(s) are what the committed code produces (0 model calls)" in verify.stdout
    )
    assert "0 generated, 4 up to date" in summary(project.doit("fixtures", check=True).stdout)
    assert "removed 0 recorded answer(s)" in project.doit("prune", check=True).stdout  # its answer is in use
    assert "`adhoc/rain`" in project.path("fixtures/README.md").read_text()
    assert project.calls() == []

    again = generate(project)  # the same request again: nothing to do, nothing billed
    assert again.returncode == 0 and "adhoc/rain is up to date" in again.stdout
    data = project.path("fixtures/adhoc/rain.json")
    note = json.loads(data.read_text())
    data.write_text(json.dumps({**note, "body": "edited by hand"}))
    assert project.status()["adhoc/rain"]["state"] == "edited"
    verify = project.doit("verify")
    assert verify.returncode != 0 and "adhoc/rain: the committed data differs" in verify.stdout
    assert project.calls() == []


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("{not json", "ad hoc fixture {path}: (file): Invalid JSON"),
        (
            '{"format": 1, "name": "adhoc/other", "schema_name": "gens.schemas:Note", "prompt": "x"}',
            "ad hoc fixture {path}: declares fixture 'adhoc/other', but its path says 'adhoc/rain'",
        ),
        (
            '{"format": 1, "name": "adhoc/rain", "schema_name": "gens.schemas:Nope", "prompt": "x"}',
            "has no 'Nope'",
        ),
        (
            '{"format": 1, "name": "adhoc/rain", "schema_name": "gens.schemas:Note"}',
            "give exactly one of template and prompt",
        ),
        (
            '{"format": 1, "name": "adhoc/rain", "schema_name": "os:system", "prompt": "x", "run": "rm"}',
            "run: Extra inputs are not permitted",
        ),
    ],
)
def test_a_damaged_ad_hoc_declaration_is_named_in_one_line(project: Project, content: str, line: str) -> None:
    assert generate(project).returncode == 0
    project.calls()
    path = project.path("fixtures/.adhoc/adhoc/rain.json")
    path.write_text(content)
    proc = project.doit("status")
    text = output(proc)
    assert proc.returncode != 0 and line.format(path=path) in text, text
    assert "fix it, or delete it to drop the ad hoc fixture" in text
    assert "Traceback" not in text
    assert project.calls() == []


def test_an_ad_hoc_name_taken_by_the_catalog_is_refused(project: Project) -> None:
    proc = project.doit(
        "generate", "--schema", "gens.schemas:Note", "--prompt", "x", "--name", "notes/welcome"
    )
    assert proc.returncode != 0
    assert (
        "--name notes/welcome: gens.agents:welcome_note declares that fixture; choose another name"
        in output(proc)
    )
    assert project.calls() == []
    assert not project.path("fixtures/.adhoc").exists()
