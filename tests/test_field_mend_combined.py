"""A breaking change of a fixture's own schema that comes with another change (#25): a field removed
or added beside a tightened one, and a mend under ``force=1`` or ``replay=off``.

Real doit on a temp project, real HTTP to the fake server. Whatever the planner says it does is what
the build does: ``doit fixtures dry=1`` counts the calls made, the record says what was kept, no data
value is quoted in a reason, and ``doit verify`` rebuilds every fixture with no call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doit_project import (
    Project,
    completions,
    fake_gpt_project,
    read_record,
    stale_reasons,
    verify_asks_nothing,
)
from test_field_change import BOARDS, FieldWatcher
from test_field_mend import CARDS_ONLY, TITLE, asked_pointers, data, tighten_title
from test_schema_change import CARDS, SHAPES

FORBID_IMPORT = "from pydantic import BaseModel, ConfigDict, Field\n"
FORBID = "class Card(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n"
BODY = '    body: str = Field(max_length=2000, description="The card\'s text.")\n'


@pytest.fixture
def watcher() -> Iterator[FieldWatcher]:
    with FieldWatcher(seed=11) as srv:
        yield srv


@pytest.fixture
def cards(tmp_path: Path, watcher: FieldWatcher) -> tuple[Project, dict[str, str]]:
    files = {"gens/shapes.py": SHAPES, "gens/cards.py": CARDS, "gens/boards.py": BOARDS}
    proj, env = fake_gpt_project(tmp_path, watcher, files)
    watcher.bodies.clear()
    return proj, env


def loaded(proj: Project) -> dict[str, dict[str, Any]]:
    return {n: json.loads(data(proj, n)) for n in CARDS_ONLY}


def dry_calls(proj: Project, env: dict[str, str]) -> int:
    dry = proj.doit("fixtures", "dry=1", env=env, check=True).stdout
    total = next(line for line in dry.splitlines() if line.startswith("total:"))
    return int(total.split("; ")[1].split(" model call")[0])


def exact_title(proj: Project) -> tuple[str, str, int]:
    """The card whose title is the shorter (a multi-word text ending mid-word: at a maxLength of its
    own length the truncation gate reads it as cut off), the other, and that length."""
    before = loaded(proj)
    short, long = sorted(CARDS_ONLY, key=lambda n: len(before[n]["title"]))
    assert before[short]["title"][-1].isalnum() and " " in before[short]["title"]
    return short, long, len(before[short]["title"])


@pytest.mark.slow
def test_a_field_removed_beside_a_title_tightened_to_its_own_length_asks_the_title(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """Once the removed field made a drop with no call, the gates were not run on the kept title,
    and `doit verify` then asked the title alone (never recorded): drifted."""
    proj, env = cards
    short, _, limit = exact_title(proj)
    before = loaded(proj)
    proj.edit("gens/shapes.py", BODY, "")
    tighten_title(proj, limit)
    reason = stale_reasons(proj, env)[short]
    assert reason.endswith(
        "/body dropped (no longer in the schema); /title no longer valid (at /title: the truncated gate "
        "refuses it under the new schema): asked alone, the rest kept — 1 call"
    ), reason
    assert dry_calls(proj, env) == 2
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) >= 2 and asked_pointers(watcher)[:2] == ["/title", "/title"]
    after = loaded(proj)
    for name in CARDS_ONLY:
        assert set(after[name]) == {"title"} and len(after[name]["title"]) <= limit
    assert after[short]["title"] != before[short]["title"]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_field_removed_under_extra_forbid_beside_a_title_tightened_to_its_own_length(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """The recorded answer holds the removed key, which `extra='forbid'` refuses: once the build then
    did not ask the title as planned (rebuilt whole) and `doit verify`, which did, drifted."""
    proj, env = cards
    proj.edit("gens/shapes.py", "from pydantic import BaseModel, Field\n", FORBID_IMPORT)
    proj.edit("gens/shapes.py", "class Card(BaseModel):\n", FORBID)
    proj.doit("fixtures", "force=1", env=env, check=True)  # built under `extra='forbid'`
    completions(watcher)
    short, _, limit = exact_title(proj)
    before = loaded(proj)
    proj.edit("gens/shapes.py", BODY, "")
    tighten_title(proj, limit)
    proj.doit("fixtures", env=env, check=True)
    assert asked_pointers(watcher)[:2] == ["/title", "/title"] and completions(watcher) >= 2
    out = read_record(proj, short)["reason"]
    assert "none asked alone" not in out and "rebuilt whole" not in out, out
    assert loaded(proj)[short]["title"] != before[short]["title"]
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_field_with_a_default_added_beside_a_title_tightened_below_the_data_asks_the_title(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """Once a whole rebuild, its reason pydantic's error as text: several lines, with the title's
    value quoted (`input_value='...'`) in the status line and in the committed record."""
    proj, env = cards
    before = loaded(proj)
    long = max(CARDS_ONLY, key=lambda n: len(before[n]["title"]))
    limit = len(before[long]["title"]) - 5
    proj.edit("gens/shapes.py", BODY, BODY + "    tags: list[str] = []\n")
    tighten_title(proj, limit)
    reason = stale_reasons(proj, env)[long]
    assert "\n" not in reason and before[long]["title"][:20] not in reason, reason
    assert "input_value" not in reason
    assert reason.endswith(
        f"/title no longer valid (at /title: String should have at most {limit} characters): "
        "asked alone, the rest kept — 1 call"
    ), reason
    proj.doit("fixtures", env=env, check=True)
    assert asked_pointers(watcher)[0] == "/title" and completions(watcher) >= 1
    after = loaded(proj)[long]
    assert after["body"] == before[long]["body"] and after["tags"] == []
    assert "input_value" not in read_record(proj, long)["reason"]
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_field_with_a_default_added_beside_a_title_tightened_to_its_own_length_is_verified(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """Once the default was filled with no call and the title kept: `doit verify` then asked the
    title alone, as the gates refuse it, and drifted."""
    proj, env = cards
    short, _, limit = exact_title(proj)
    proj.edit("gens/shapes.py", BODY, BODY + "    tags: list[str] = []\n")
    tighten_title(proj, limit)
    reason = stale_reasons(proj, env)[short]
    assert "/title no longer valid (at /title: the truncated gate refuses it" in reason, reason
    proj.doit("fixtures", env=env, check=True)
    assert asked_pointers(watcher)[0] == "/title" and completions(watcher) >= 1
    after = loaded(proj)[short]
    assert after["tags"] == [] and len(after["title"]) <= limit
    assert stale_reasons(proj, env) == {}
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
def test_a_required_field_added_beside_a_title_tightened_below_the_data_counts_both_calls(
    cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """Once `dry=1` and the record said `/mood asked alone — 1 call` while the build asked the title
    alone too: 2 calls."""
    proj, env = cards
    before = loaded(proj)
    long = max(CARDS_ONLY, key=lambda n: len(before[n]["title"]))
    limit = len(before[long]["title"]) - 5
    proj.edit("gens/shapes.py", BODY, BODY + "    mood: str\n")
    tighten_title(proj, limit)
    reason = stale_reasons(proj, env)[long]
    assert "/title, /mood" in reason and reason.endswith("asked alone, the rest kept — 2 calls"), reason
    planned = dry_calls(proj, env)
    proj.doit("fixtures", env=env, check=True)
    assert completions(watcher) == planned
    assert read_record(proj, long)["reason"] == reason
    after = loaded(proj)[long]
    assert after["body"] == before[long]["body"] and len(after["title"]) <= limit
    verify_asks_nothing(proj, env, watcher, 7)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["force=1", "replay=off"])
def test_a_mend_not_made_under_force_or_replay_off_is_not_said_to_keep_the_rest(
    how: str, cards: tuple[Project, dict[str, str]], watcher: FieldWatcher
) -> None:
    """``force=1`` and ``replay=off`` rebuild whole: once the dry run and the record still said
    `/title ... asked alone, the rest kept — 1 call` of a fixture whose every value was written anew."""
    proj, env = cards
    proj.edit("gens/shapes.py", TITLE, '    title: int = Field(description="A short title.")\n')
    dry = proj.doit("fixtures", "dry=1", how, env=env, check=True).stdout
    row = next(line for line in dry.splitlines() if line.strip().startswith("cards/0"))
    assert "the rest kept" not in row and f"rebuilt whole ({how})" in row, row
    proj.doit("fixtures", how, env=env, check=True)
    reason = read_record(proj, "cards/0")["reason"]
    assert "the rest kept" not in reason and f"rebuilt whole ({how})" in reason, reason
