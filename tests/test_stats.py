"""`doit stats` (text, --json, --html PATH) through real doit subprocesses on a temp project (fake models)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hotdata.make.quality import similarity
from tests.doit_project import Project

KESTREL_THINKS = {
    "name": "Kestrel Vane",
    "phase": "deliberating",
    "summary": "Kestrel Vane weighs the offer from the northern research station before dawn.",
}
KESTREL_ACTS = {
    "name": "Kestrel Vane",
    "phase": "crisis",
    "summary": "The northern research station has lost power, and Kestrel Vane must act now.",
}
REFUSED = [
    {"attempt": 1, "reasons": ["/summary stops mid-sentence: ends on 'of' ('x of') [truncated]"]},
    {"attempt": 2, "reasons": ["at /phase: Input should be 'deliberating', 'crisis' or 'resting'"]},
]


def _known_catalog(tmp_path: Path) -> Project:
    """The template project built with the fake model, then its two agents set to known values
    (one of them with two refused attempts in its record)."""
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    for name, value in (("deliberating", KESTREL_THINKS), ("crisis", KESTREL_ACTS)):
        project.path(f"fixtures/agents/{name}.json").write_text(json.dumps(value, indent=2))
    meta = project.path("fixtures/agents/crisis.meta.json")
    record = json.loads(meta.read_text())
    meta.write_text(json.dumps({**record, "failed_attempts": REFUSED}, indent=2))
    return project


def _stats_json(project: Project) -> dict[str, Any]:
    proc = project.doit("stats", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_json_reports_fields_enum_coverage_repetition_refusals_and_usage(tmp_path: Path) -> None:
    project = _known_catalog(tmp_path)

    report = _stats_json(project)

    assert list(report) == [
        "format",
        "totals",
        "fixtures",
        "fields",
        "enums",
        "ngrams",
        "names",
        "near_duplicates",
        "refusals",
        "problems",
    ]
    assert report["format"] == 1 and report["problems"] == []
    totals = report["totals"]
    assert (totals["catalog"], totals["read"], totals["refused_attempts"]) == (3, 3, 2)
    assert totals["calls"] == sum(f["calls"] for f in report["fixtures"]) > 0
    assert [f["name"] for f in report["fixtures"]] == [
        "agents/crisis",
        "agents/deliberating",
        "notes/welcome",
    ]
    assert all(f["age_seconds"] >= 0 and f["generated_at"].endswith("Z") for f in report["fixtures"])
    # every string field, by schema and pointer, with its lengths and distinct ratio
    fields = {(f["schema"], f["pointer"]): f for f in report["fields"]}
    name = fields[("Agent", "/name")]
    assert (name["values"], name["min_length"], name["max_length"], name["distinct_ratio"]) == (
        2,
        12,
        12,
        0.5,
    )
    summary = fields[("Agent", "/summary")]
    lengths = sorted(len(v["summary"]) for v in (KESTREL_THINKS, KESTREL_ACTS))
    assert (summary["min_length"], summary["max_length"], summary["distinct_ratio"]) == (*lengths, 1.0)
    assert ("Note", "/body") in fields
    # the schema's Literal: one value never used
    assert report["enums"] == [
        {
            "schema": "Agent",
            "pointer": "/phase",
            "used": {"deliberating": 1, "crisis": 1, "resting": 0},
            "unused": ["resting"],
        }
    ]
    names = {n["name"]: n for n in report["names"]}
    assert names["Kestrel Vane"]["fixtures"] == ["agents/crisis", "agents/deliberating"]
    assert names["Kestrel Vane"]["count"] == 4  # the name field and the summary, in each
    phrases = {n["ngram"]: n for n in report["ngrams"]}
    assert phrases["northern research station"]["fixtures"] == ["agents/crisis", "agents/deliberating"]
    pair = report["near_duplicates"][0]
    assert (pair["a"], pair["b"]) == ("agents/crisis", "agents/deliberating") or (pair["b"], pair["a"]) == (
        "agents/crisis",
        "agents/deliberating",
    )
    assert pair["similarity"] == round(similarity(KESTREL_ACTS, KESTREL_THINKS), 3)  # the gates' measure
    assert 0 < pair["similarity"] < 1 and pair["over_threshold"] is False
    assert report["refusals"] == {"schema": 1, "truncated": 1}


def test_text_report_fits_80_columns_and_names_what_json_says(tmp_path: Path) -> None:
    project = _known_catalog(tmp_path)

    proc = project.doit("stats")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    lines = [line.rstrip() for line in out.splitlines()]  # rich pads a table's lines to its width
    assert lines[0].startswith("doit stats: 3 of 3 fixture(s) read; ")
    assert max(len(line) for line in lines) <= 80
    for heading in ("Fixtures", "Fields (string lengths)", "Enum coverage", "Most repeated names"):
        assert heading in lines
    coverage = lines[lines.index("Enum coverage") :]
    assert any(line.split()[:2] == ["Agent", "/phase"] and line.split()[-1] == "resting" for line in coverage)
    assert any(line.split()[:3] == ["Kestrel", "Vane", "4"] for line in lines)
    assert "gate refusals by check: schema 1, truncated 1" in lines
    assert "unreadable" not in out and proc.stderr == ""


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._in: str = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in = tag
        for key, value in attrs:
            if key in ("src", "href", "xlink:href") and value and not value.startswith("#"):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in in ("h1", "h2"):
            self.headings.append(data)
        self.text.append(data)


def test_html_page_is_self_contained_with_charts_and_tables(tmp_path: Path) -> None:
    project = _known_catalog(tmp_path)

    proc = project.doit("stats", "--html", "report/stats.html")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = project.path("report/stats.html")
    assert proc.stdout.splitlines() == [f"doit stats: {page} written (3 fixture(s), 0 unreadable)"]
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.external == []  # nothing loaded from anywhere: no script, style or image by address
    assert (
        parser.tags[0] == "html" and parser.tags.count("svg") >= 6
    )  # tokens, ages, lengths, distinct, enum, refusals
    assert parser.tags.count("table") >= 6
    assert parser.headings[:3] == ["hotdata catalog: demo-project", "Fixtures", "Fields"]
    text = " ".join(parser.text)
    assert "never used: resting" in text and "Kestrel Vane" in text and "truncated" in text
    assert not list(page.parent.glob("*.tmp*"))  # written whole, no temp file left


def test_a_corrupt_and_a_conflicted_fixture_are_reported_in_one_line_each(tmp_path: Path) -> None:
    project = _known_catalog(tmp_path)
    record = project.path("fixtures/agents/deliberating.meta.json")
    record.write_text("{bad")
    crisis = project.path("fixtures/agents/crisis.json")
    crisis.write_text('{"name": "Kestrel Vane", "phase": ')
    welcome = project.path("fixtures/notes/welcome.json")
    welcome.write_text('<<<<<<< HEAD\n{"title": "a"}\n=======\n{"title": "b"}\n>>>>>>> other\n')

    proc = project.doit("stats")
    report = _stats_json(project)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    unreadable = [line for line in proc.stdout.splitlines() if line.startswith("unreadable: ")]
    assert len(unreadable) == 3
    crashed, broken_record, conflicted = unreadable  # in catalog order
    assert broken_record.startswith(f"unreadable: provenance record {record} is unreadable: not valid JSON")
    assert broken_record.endswith("; its tokens, calls and age are left out")
    assert [crashed, conflicted] == [
        f"unreadable: {crisis}: not valid JSON (Expecting value at line 1); rebuild it with `doit fixtures`",
        f"unreadable: {welcome}: holds merge-conflict markers; resolve the conflict, then `doit validate`",
    ]
    assert report["problems"] == [u.removeprefix("unreadable: ") for u in unreadable]
    assert report["totals"]["read"] == 1 and [f["name"] for f in report["fixtures"]] == [
        "agents/deliberating"
    ]
