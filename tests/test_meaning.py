"""Meaning checks (issue 23, part 1): `placeholder` and `meta`, with no model.

Held to precision on labelled strings from several domains (a check that refuses good
text is a defect too), and wired into the build: a refused answer is asked again, and the
line names the JSON pointer and the check. Real `doit` subprocesses for the build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

from bench.bench_meaning import held_out, labelled, scores
from hotdata.make.quality import QualityContext, QualitySettings, check_value


def test_each_meaning_check_keeps_its_precision_on_the_labelled_strings_and_the_catalog() -> None:
    rows = labelled()
    assert sum(1 for _, label in rows if label == "good") >= 200  # the catalog's strings are in
    for name, score in scores(rows).items():
        assert score["tp"] >= 10, name
        assert score["precision"] >= 0.9, (name, score["wrong"])


def test_each_meaning_check_keeps_its_precision_on_strings_it_was_never_tuned_on() -> None:
    """The held-out set (written by someone who had not seen the checks) holds them to the issue's
    precision; recall is reported by the bench, not held here."""
    for name, score in scores(held_out()).items():
        assert score["tp"] >= 5, name
        assert score["precision"] >= 0.9, (name, score["wrong"])


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("The outage at [TechCorp] lasted four hours.", "placeholder"),
        ("Hi <customer name>, thanks for writing.", "placeholder"),
        ("I like this review, but I would suggest rephrasing it for better clarity.", "meta"),
        ("Monitoring alerted the AI, a system named SmolLM.", "meta"),
    ],
)
def test_a_defect_is_refused_at_its_pointer_in_words(text: str, check: str) -> None:
    problems = check_value({"notes": [{"body": text}]}, QualitySettings(), QualityContext())
    assert [(p.pointer, p.check) for p in problems] == [("/notes/0/body", check)]
    assert problems[0].message.startswith("/notes/0/body ")


@pytest.mark.parametrize(
    "text",
    [
        "[ERROR] disk /dev/sda1 full at 03:12; the ingest workers stopped writing.",
        "See the [runbook](https://example.com/runbook) for the restart order.",
        "I'm writing this review after two weeks of daily use.",
        "The ship's AI, called Warden, refuses to open the hangar doors.",
    ],
)
def test_data_that_only_looks_like_a_defect_passes(text: str) -> None:
    assert check_value({"body": text}, QualitySettings(), QualityContext()) == []


def test_each_check_can_be_turned_off_by_name() -> None:
    text = {"body": "Dear [Customer Name], as an AI language model I cannot refund you."}
    found = {p.check for p in check_value(text, QualitySettings(), QualityContext())}
    assert found == {"placeholder", "meta"}
    only = QualitySettings(checks=["truncated", "repeated", "echo", "degenerate", "near-duplicate"])
    assert check_value(text, only, QualityContext()) == []


def note(text: str) -> str:
    return json.dumps({"text": text})


@pytest.mark.slow
def test_a_placeholder_answer_is_refused_and_asked_again_in_the_build(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    script = tmp_path / "script.json"
    bad = "Welcome to [Company], your desk is by the north window."
    good = "Welcome aboard, your desk is by the north window and the coffee is in the galley."
    script.write_text(json.dumps({"[fixture notes/welcome]": [note(bad), note(good)]}))
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    project.doit("fixtures:notes/welcome", env=env, check=True)
    assert json.loads(project.path("fixtures/notes/welcome.json").read_text())["body"] == good
    record: dict[str, Any] = json.loads(project.path("fixtures/notes/welcome.meta.json").read_text())
    reasons = record["failed_attempts"][0]["reasons"]
    assert reasons == ["/text holds the placeholder '[Company]'"]


def test_a_skeleton_answer_of_bare_list_markers_is_a_placeholder() -> None:
    """The first-project trial: the embedded model answered every talk's takeaways with
    ["1. ", "2. ", "3. "], which passed every gate."""
    found = check_value({"takeaways": ["1. ", "2. ", "3. "]}, QualitySettings(), QualityContext())
    assert [(p.pointer, p.check) for p in found][:1] == [("/takeaways/0", "placeholder")]
    assert "bare list marker" in found[0].message
    assert check_value({"takeaways": ["1. Cache the fonts.", "-"]}, QualitySettings(), QualityContext()) == []
