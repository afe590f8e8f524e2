"""The pytest plugin, through generated test files run in a pytester sub-session.

The sub-project is a real hotdata project: its fixtures are declared with
``@fixture`` and built by ``doit fixtures`` in a subprocess, so strict mode can
use the build's own classifier, as it does for users.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PYPROJECT = """
[tool.hotdata]
fixtures_dir = "fixtures"
generators = ["gens"]
templates_dir = "templates"
model = "hotdata-fake"
llm_plugins = ["hotdata.testing.fake_models"]
"""

SCHEMAS = """
from pydantic import BaseModel


class Agent(BaseModel):
    name: str
    phase: str
"""

GENERATORS = """
from hotdata.make import fixture

from .schemas import Agent


@fixture("agents/ada", schema=Agent, template="ada.j2", ttl="7d")
async def ada(ctx):
    ctx.render()
    return Agent(name="Ada", phase="deliberating")


@fixture("agents/bo", schema=Agent, template="ada.j2")
async def bo(ctx):
    return Agent(name="Bo", phase="acting")
"""

CONFTEST = """
from hotdata import HotData, registry
from hotdata.pytest_plugin import hotdata_fixture

from gens.schemas import Agent

registry.register("agents/ada", HotData.from_name("fixtures", "agents/ada", Agent))
registry.register("agents/gone", HotData.from_name("fixtures", "agents/gone", Agent))

rich_agent = hotdata_fixture(registry.get("agents/ada"), default=lambda: Agent(name="Fallback", phase="idle"))
gone_agent = hotdata_fixture(registry.get("agents/gone"), default=lambda: Agent(name="Fallback", phase="idle"))
required_gone = hotdata_fixture(registry.get("agents/gone"))
"""

TESTS = """
def test_named_fixture(rich_agent):
    assert rich_agent.name == "Ada"

def test_fallback(gone_agent):
    assert gone_agent.name == "Fallback"

def test_access(hotdata):
    assert hotdata.load("agents/ada").phase == "deliberating"

def test_declared_once_loads_by_name(hotdata):
    from gens.schemas import Agent
    bo = hotdata.load("agents/bo")  # never registered: the schema comes from its record
    assert isinstance(bo, Agent) and bo.name == "Bo"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    (pytester.path / "gens").mkdir()
    (pytester.path / "gens" / "__init__.py").write_text("")
    (pytester.path / "gens" / "schemas.py").write_text(SCHEMAS)
    (pytester.path / "gens" / "agents.py").write_text(GENERATORS)
    (pytester.path / "templates").mkdir()
    (pytester.path / "templates" / "ada.j2").write_text("Describe Ada.\n")
    (pytester.path / "dodo.py").write_text(
        "from hotdata.make import doit_project\nglobals().update(doit_project())\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_uses=TESTS)
    build = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures"], cwd=pytester.path, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return pytester


def test_fixtures_and_fallbacks(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("test_uses.py")
    result.assert_outcomes(passed=4)
    project.makepyfile(test_required="def test_it(required_gone):\n    pass\n")
    result = project.runpytest_subprocess("test_required.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*hotdata fixture agents/gone*gone.json does not exist*"])


def test_strict_fails_missing_and_stale(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--hotdata-strict", "test_uses.py")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*hotdata fixture agents/gone is missing*--hotdata-strict*"])
    meta = project.path / "fixtures" / "agents" / "ada.meta.json"
    record = json.loads(meta.read_text())
    record["generated_at"] = "2020-01-01T00:00:00Z"
    meta.write_text(json.dumps(record))
    result = project.runpytest_subprocess("-k", "named_fixture", "test_uses.py", "--hotdata-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*agents/ada is stale: ttl 7d expired*"])


def test_strict_agrees_with_doit_status_on_a_template_change(project: pytest.Pytester) -> None:
    (project.path / "templates" / "ada.j2").write_text("Describe Ada, warmly.\n")
    status = subprocess.run(
        [sys.executable, "-m", "doit", "status", "--json"], cwd=project.path, capture_output=True, text=True
    )
    rows = {r["name"]: r for r in json.loads(status.stdout[status.stdout.index("[") :])}
    assert rows["agents/ada"]["reason"] == "template ada.j2 changed"
    result = project.runpytest_subprocess("-k", "named_fixture", "test_uses.py", "--hotdata-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*agents/ada is stale: template ada.j2 changed*"])


@pytest.mark.parametrize("value", ["1", "TRUE", "True", "on", "yes"])
def test_strict_from_the_environment(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HOTDATA_STRICT", value)
    result = project.runpytest_subprocess("-k", "fallback", "test_uses.py")
    result.assert_outcomes(errors=1)


def test_report_lists_use_states_and_fallbacks(project: pytest.Pytester) -> None:
    (project.path / "fixtures" / "agents" / "ada.json").write_text(
        '{"name": "Ada", "phase": "hand-edited"}\n'
    )
    result = project.runpytest_subprocess("--hotdata-report", "test_uses.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= hotdata =*",
            "agents/ada: edited: *",
            "agents/bo: fresh",
            "agents/gone: missing (fell back to the default): *",
            "build checks skipped (*): not declared in the project's catalog",
            "3 used, 0 stale, 1 missing, 0 invalid, 1 edited, 1 fell back",
        ]
    )


def test_without_the_catalog_the_report_names_the_checks_it_skipped(project: pytest.Pytester) -> None:
    (project.path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = project.runpytest_subprocess("--hotdata-report", "-k", "access", "test_uses.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["build checks skipped (*generator*templates*): *pyproject.toml has no ?tool.hotdata? table"]
    )


def test_invalid_fixture_falls_back_with_a_warning(project: pytest.Pytester) -> None:
    (project.path / "fixtures" / "agents" / "ada.json").write_text('{"name": 3}')
    result = project.runpytest_subprocess(
        "-k", "named_fixture", "-W", "default::hotdata.HotDataWarning", "test_uses.py"
    )
    result.assert_outcomes(failed=1)  # the fallback is named "Fallback", not "Ada"
    result.stdout.fnmatch_lines(["*HotDataWarning: using the default for agents/ada*ada.json is invalid*"])


def test_options_have_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--hotdata-strict*", "*--hotdata-report*"])
