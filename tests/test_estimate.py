"""The estimate before any call (`doit fixtures dry=1`, `doit status`, `max_cost`), checked
against what the fake OpenAI-compatible server billed: requests it answered, usage it returned."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.make import ConfigError, load_config
from hotdata.make.models import price_of
from hotdata.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

TOTAL = re.compile(r"^total: .*?(\d+) model call\(s\), ([\d,]+) tokens, cost (.+?), about ", re.M)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=7) as srv:
        yield srv


def project(
    tmp_path: Path, server: FakeOpenAIServer, model: str = "fake-gpt"
) -> tuple[Project, dict[str, str]]:
    proj = Project.create(tmp_path)
    server.write_llm_config(tmp_path / "llm", model)
    return proj, {"LLM_USER_PATH": str(tmp_path / "llm"), "HOTDATA_MODEL": model}


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (git's own excepted) and a digest of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def totals(out: str) -> tuple[int, int, str]:
    found = TOTAL.search(out)
    assert found, out
    return int(found[1]), int(found[2].replace(",", "")), found[3]


def billed_since(server: FakeOpenAIServer, start: int) -> tuple[int, int]:
    """Chat completions the server answered since the ``start``-th, and the tokens it billed."""
    usage = server.usage[start:]
    return len(usage), sum(u["total_tokens"] for u in usage)


def row(out: str, name: str) -> str:
    lines = [line for line in out.splitlines() if line.strip().startswith(name + " ")]
    assert len(lines) == 1, out
    return lines[0]


def test_the_estimate_is_what_the_server_then_bills(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj, env = project(tmp_path, server)
    proj.doit("fixtures", env=env, check=True)  # records now hold what each fixture took

    before, requests, billed = tree(proj.root), len(server.requests), len(server.usage)
    dry = proj.doit("fixtures", "dry=1", "force=1", "replay=off", env=env, check=True).stdout
    assert len(server.requests) == requests  # no request, and not a byte written
    assert tree(proj.root) == before
    calls, tokens, cost = totals(dry)
    assert "3 stale: 3 to ask, 0 replay for free" in dry
    assert "[its record]" in row(dry, "agents/crisis")
    assert cost.startswith("unknown (no price for fake-gpt")  # never $0 for an unpriced model
    per_fixture = {
        n: r["estimate"]
        for n, r in proj.status(env | {"HOTDATA_FORCE": "1", "HOTDATA_REPLAY": "off"}).items()
    }

    proj.doit("fixtures", "force=1", "replay=off", env=env, check=True)
    assert billed_since(server, billed) == (calls, tokens)
    assert len(server.requests) - requests == calls  # no request failed and was asked again
    for name, estimate in per_fixture.items():
        usage = json.loads(proj.path(f"fixtures/{name}.meta.json").read_text())["usage"]
        assert (estimate["calls"], estimate["input_tokens"], estimate["output_tokens"]) == (
            usage["calls"],
            usage["input_tokens"],
            usage["output_tokens"],
        ), name


def test_what_would_replay_is_free_and_replays(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj, env = project(tmp_path, server)
    proj.doit("fixtures", env=env, check=True)
    # the code after the model call changes: the request does not, so its recorded answer replays
    proj.edit("gens/agents.py", 'title="Welcome aboard"', 'title="Welcome!"')
    proj.edit("templates/agent.j2", "Describe an agent", "Portray an agent")  # a new request for both

    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    welcome = row(dry, "notes/welcome")
    assert " replay " in welcome and "0 call(s)" in welcome and "[recorded answers]" in welcome
    assert "changed" in welcome  # the planner's reason, in words
    assert " rebuild " in row(dry, "agents/crisis") and "template agent.j2 changed" in row(
        dry, "agents/crisis"
    )
    calls, tokens, _ = totals(dry)
    assert "3 stale: 2 to ask, 1 replay for free" in dry

    billed = len(server.usage)
    proj.doit("fixtures", env=env, check=True)
    got_calls, got_tokens = billed_since(server, billed)
    assert got_calls == calls == 2
    # the prompt changed by a word: the tokens of the agents' records are close to what it takes now
    assert math.isclose(got_tokens, tokens, rel_tol=0.1), (got_tokens, tokens)


def test_no_record_takes_the_family_median_then_a_stated_default(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj, env = project(tmp_path, server)
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    assert "[default: 1 call, 1000 tokens]" in row(dry, "agents/crisis")
    assert "new fixture" in row(dry, "notes/welcome")

    proj.doit("fixtures:agents/deliberating", env=env, check=True)
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    crisis = row(dry, "agents/crisis")
    assert "[family median of 1 (gens.agents:agent)]" in crisis
    assert "[default: 1 call, 1000 tokens]" in row(dry, "notes/welcome")  # another generator
    sibling = json.loads(proj.path("fixtures/agents/deliberating.meta.json").read_text())["usage"]
    assert f"{sibling['calls']} call(s)" in crisis

    billed = len(server.usage)
    proj.doit("fixtures:agents/crisis", env=env, check=True)
    assert billed_since(server, billed)[0] == sibling["calls"]


def test_a_dry_run_of_one_fixture_estimates_that_one(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj, env = project(tmp_path, server)
    dry = proj.doit("fixtures:notes/welcome", "dry=1", env=env, check=True).stdout
    assert "1 stale: 1 to ask" in dry and "agents/" not in dry
    assert server.requests == []
    assert not proj.path("fixtures").exists()


def test_status_shows_the_estimate_of_a_build(tmp_path: Path, server: FakeOpenAIServer) -> None:
    proj, env = project(tmp_path, server)
    proj.doit("fixtures", env=env, check=True)
    out = proj.doit("status", env=env, check=True).stdout
    assert "estimate of `doit fixtures`: nothing to rebuild (3 up to date); 0 model calls" in out
    proj.edit("templates/note.j2", "welcome note", "short welcome note")
    out = proj.doit("status", env=env, check=True).stdout
    assert re.search(
        r"estimate of `doit fixtures`: 1 stale: 1 to ask, 0 replay for free, 2 up to date; 1 model call", out
    )
    assert "cost unknown (no price for fake-gpt (1 call(s)))" in out
    rows = proj.status(env)
    assert rows["agents/crisis"]["estimate"] is None
    assert rows["notes/welcome"]["estimate"]["action"] == "rebuild"
    assert rows["notes/welcome"]["estimate"]["cost_usd"] is None  # unknown, never 0
    assert server.usage[3:] == []  # status asked nothing


def test_max_cost_refuses_a_run_over_it_before_any_call(tmp_path: Path, server: FakeOpenAIServer) -> None:
    # an OpenAI model id the price table knows, served by the fake
    proj, env = project(tmp_path, server, model="gpt-4o-mini")
    proj.doit("fixtures", env=env, check=True)
    dry = proj.doit("fixtures", "dry=1", "force=1", "replay=off", env=env, check=True).stdout
    calls, _, cost = totals(dry)
    assert cost.startswith("$")
    expected = price_of("gpt-4o-mini", calls, *_in_out(proj))
    assert expected.usd is not None and cost == expected.describe()
    assert "in batch mode (batch=1): cost " in dry and "half price" in dry

    before, requests = tree(proj.root), len(server.requests)
    over = {**env, "HOTDATA_MAX_COST": f"{float(expected.usd) / 2:.10f}"}
    proc = proj.doit("fixtures", "force=1", "replay=off", env=over)
    assert proc.returncode != 0
    refusals = [line for line in proc.stdout.splitlines() if "max_cost" in line]
    assert len(refusals) == 1, proc.stdout
    assert f"this run's estimate is {cost}" in refusals[0] and "HOTDATA_MAX_COST" in refusals[0]
    assert "3 stopped by budget" in proc.stdout
    assert len(server.requests) == requests
    assert {k: v for k, v in tree(proj.root).items() if not k.startswith((".hotdata", ".doit"))} == {
        k: v for k, v in before.items() if not k.startswith((".hotdata", ".doit"))
    }

    # batch mode halves an OpenAI price: the same run fits in batch mode, and is sent as a batch
    proc = proj.doit(
        "fixtures",
        "force=1",
        "replay=off",
        "batch=1",
        env={**over, "HOTDATA_MAX_COST": f"{float(expected.usd) * 0.6:.10f}"},
    )
    assert "max_cost" not in proc.stdout, proc.stdout

    under = {**env, "HOTDATA_MAX_COST": "5"}
    out = proj.doit("fixtures", "force=1", "replay=off", env=under).stdout
    assert "max_cost" not in out


def _in_out(proj: Project) -> tuple[int, int]:
    records = [json.loads(p.read_text()) for p in proj.path("fixtures").rglob("*.meta.json")]
    return sum(r["usage"]["input_tokens"] for r in records), sum(r["usage"]["output_tokens"] for r in records)


def test_max_cost_with_an_unknown_price_is_refused_saying_so(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj, env = project(tmp_path, server)
    proj.path("pyproject.toml").write_text(proj.path("pyproject.toml").read_text() + "max_cost = 1.5\n")
    proc = proj.doit("fixtures", env=env)
    assert proc.returncode != 0
    assert server.requests == []
    line = next(line for line in proc.stdout.splitlines() if "max_cost" in line)
    assert "max_cost = 1.5 ([tool.hotdata] of " in line
    assert "no price is known for model fake-gpt (3 call(s))" in line
    assert not proj.path("fixtures").exists() or not list(proj.path("fixtures").rglob("*.json"))


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("-1", "greater than or equal to 0"),
        ("nan", "finite number"),
        ('"5"', "valid number"),
        ("true", "valid number"),
    ],
)
def test_max_cost_is_validated_like_the_other_keys(tmp_path: Path, value: str, says: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.hotdata]\nmax_cost = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={})
    message = str(err.value)
    assert "max_cost" in message and says in message and "\n" not in message


def test_max_cost_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.hotdata]\n")
    assert load_config(tmp_path, environ={"HOTDATA_MAX_COST": "2.5"}).max_cost == 2.5
    with pytest.raises(
        ConfigError, match="HOTDATA_MAX_COST='cheap': max_cost must be a number of US dollars"
    ):
        load_config(tmp_path, environ={"HOTDATA_MAX_COST": "cheap"})


def test_prices_local_free_unknown_unknown_batch_half() -> None:
    assert price_of("hotdata-local", 4, 900, 300).describe() == "free (local model)"
    unknown = price_of("fake-gpt", 2, 100, 100)
    assert unknown.usd is None and unknown.describe() == "unknown"
    known = price_of("gpt-4o-mini", 2, 1_000_000, 0)
    assert known.usd is not None and known.usd > 0
    assert known.halved().usd == known.usd / 2


def test_replay_only_says_which_fixtures_would_fail_before_any_call(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    proj, env = project(tmp_path, server)
    dry = proj.doit("fixtures", "dry=1", "replay=only", env=env, check=True).stdout
    welcome = row(dry, "notes/welcome")
    assert " fails " in welcome and "replay=only and an answer is not recorded" in welcome
    assert "3 stale: 0 to ask, 0 replay for free, 3 fail before any call" in dry
    assert "0 model call(s), 0 tokens" in dry
    assert server.requests == []
