"""The pytest plugin, through generated test files run in a pytester sub-session."""

from __future__ import annotations

import json

import pytest

CONFTEST = """
import pytest
from pydantic import BaseModel
from hotdata import HotData, registry
from hotdata.pytest_plugin import hotdata_fixture


class Agent(BaseModel):
    name: str
    phase: str


registry.register("agents/ada", HotData.from_name("fixtures", "agents/ada", Agent, ttl="7d"))
registry.register("agents/gone", HotData.from_name("fixtures", "agents/gone", Agent))

rich_agent = hotdata_fixture(registry.get("agents/ada"), default=lambda: Agent(name="Fallback", phase="idle"))
gone_agent = hotdata_fixture(registry.get("agents/gone"), default=lambda: Agent(name="Fallback", phase="idle"))
required_gone = hotdata_fixture(registry.get("agents/gone"))


@pytest.fixture(autouse=True)
def _isolated_registry():
    yield
"""

TESTS = """
def test_named_fixture(rich_agent):
    assert rich_agent.name == "Ada"

def test_fallback(gone_agent):
    assert gone_agent.name == "Fallback"

def test_access(hotdata):
    assert hotdata.load("agents/ada").phase == "deliberating"

def test_access_by_schema(hotdata):
    from conftest import Agent
    assert hotdata.load("agents/ada", Agent).name == "Ada"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    fixtures = pytester.path / "fixtures" / "agents"
    fixtures.mkdir(parents=True)
    pytester.makepyfile(test_uses=TESTS)
    # a fixture built the regular way, so it is fresh
    pytester.makepyfile(
        build="""
from hotdata import HotData
from conftest import Agent
HotData.from_name("fixtures", "agents/ada", Agent, ttl="7d").save(Agent(name="Ada", phase="deliberating"))
"""
    )
    pytester.runpython(pytester.path / "build.py")
    return pytester


def test_fixtures_and_fallbacks(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("test_uses.py")
    result.assert_outcomes(passed=4)


def test_missing_without_default_fails_with_the_file(project: pytest.Pytester) -> None:
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


def test_strict_from_the_environment(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTDATA_STRICT", "1")
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
            "agents/gone: missing (fell back to the default): *",
            "2 used, 0 stale, 1 missing, 0 invalid, 1 edited, 1 fell back",
        ]
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
