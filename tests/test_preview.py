"""`doit preview NAME [n=K]` through real doit subprocesses on a temp project (fake models)."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.doit_project import Output, Project

SEEDED = "concurrency = 4\nmodel_options = { seed = 1 }"

NO_MOSS = """
def no_moss(data, context):
    return ["the note mentions moss"] if "moss" in str(data.get("body", "")) else []
"""
MOSS = "The garden gate opens onto a path of moss and old grey stone by the shed."
GOOD = "Welcome aboard. Your desk is by the north window, and the kettle is always on."


def _flat(out: str) -> str:
    """Terminal output without panel borders, each run of spaces and line breaks one space (wrapped
    lines read whole at any terminal width)."""
    return " ".join(re.sub(r"[│╭╮╰╯]", " ", out).split())


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _seeded(tmp_path: Path) -> Project:
    project = Project.create(tmp_path)
    project.edit("pyproject.toml", "concurrency = 4", SEEDED)
    return project


def _options(project: Project) -> list[dict[str, Any]]:
    lines = project.log.read_text().splitlines() if project.log.exists() else []
    return [json.loads(line)["options"] for line in lines]


def test_k_samples_with_distinct_seeds_gated_and_nothing_written(tmp_path: Path) -> None:
    project = _seeded(tmp_path)
    project.doit("fixtures", check=True)
    build_seeds = {o.get("seed") for o in _options(project)}
    project.log.unlink()
    before = _tree(project.path("fixtures"))

    proc = project.doit("preview", "agents/crisis", "n=4")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = _flat(proc.stdout)
    assert (
        "preview agents/crisis: 4 sample(s) from gens.agents:agent with hotdata-fake; nothing is written"
        in out
    )
    for number in range(1, 5):
        assert f"sample {number} of 4 · seed" in out
    seeds = [int(s) for s in re.findall(r"sample \d of 4 · seed (\d+) · passed", out)]
    assert len(set(seeds)) == 4  # each sample its own seed ...
    sent = [o["seed"] for o in _options(project)]
    assert sorted(sent) == sorted(seeds)  # ... as sent to the model
    assert not set(sent) & build_seeds  # never one a build uses
    assert out.count("✓ passed truncated, repeated, echo") == 4
    assert out.count("1 call(s)") == 4 and "tokens" in out
    assert "/summary" in out and "/phase" in out  # the field view
    assert "doit preview: 4 of 4 sample(s) passed every gate; 4 model call(s)" in out
    assert "Traceback" not in out + proc.stderr
    # nothing under fixtures/: no data, no record, no recorded answer
    assert _tree(project.path("fixtures")) == before
    assert {row["state"] for row in project.status().values()} == {"fresh"}


def test_the_n_option_and_the_default(tmp_path: Path) -> None:
    project = _seeded(tmp_path)
    out = project.doit("preview", "notes/welcome", "--n", "2", check=True).stdout
    assert "sample 2 of 2" in out and "sample 3" not in out
    out = project.doit("preview", "--n", "1", "notes/welcome", check=True).stdout
    assert "sample 1 of 1" in out
    out = project.doit("preview", "notes/welcome", check=True).stdout
    assert "sample 3 of 3" in out
    assert not project.path("fixtures").exists()


def test_a_refused_and_a_failed_sample_show_their_reasons_and_the_others_still_show(tmp_path: Path) -> None:
    project = _seeded(tmp_path)
    project.path("gens/checks.py").write_text(NO_MOSS)
    with project.path("pyproject.toml").open("a") as fh:
        fh.write('\n[tool.hotdata.quality]\ncustom = ["gens.checks:no_moss"]\n')
    invalid = {"not": "a draft"}
    answers = [{"text": MOSS}, invalid, invalid, invalid, {"text": GOOD}]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"[fixture notes/welcome]": [json.dumps(a) for a in answers]}))
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}

    proc = project.doit("preview", "notes/welcome", env=env)

    out = _flat(proc.stdout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # 1: valid, refused by the project's own check, its other gates passed
    assert re.search(r"sample 1 of 3 · seed \d+ · refused", out)
    assert "✗ refused by no_moss:" in out
    assert "the note mentions moss [no_moss]" in out
    assert "✓ passed truncated, repeated, echo" in out
    # 2: no valid answer within the attempts: why, in words
    assert re.search(r"sample 2 of 3 · seed \d+ · failed", out)
    assert "✗ failed: fixture notes/welcome: ctx.generate at gens/agents.py:18: no" in out
    assert "3 answer(s) refused on the way; first: at text: Field required" in out
    # 3: still shown, and it passes
    assert re.search(r"sample 3 of 3 · seed \d+ · passed", out)
    assert "Welcome aboard." in out
    assert "doit preview: 1 of 3 sample(s) passed every gate; 5 model call(s)" in out
    assert "FAILED preview: 2 of 3 sample(s) of notes/welcome refused or failed (see above)" in out
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not project.path("fixtures").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["agnets/crisis"],
            "FAILED preview: no fixture named 'agnets/crisis'; close names: agents/crisis",
        ),
        (["crisis"], "close names: agents/crisis"),
        (["zzz"], "no fixture named 'zzz'; `doit list` shows every fixture"),
        ([], "doit preview takes one fixture name: doit preview NAME [n=K]"),
        (["agents/crisis", "--n", "x"], "--n 'x' is not a number of samples: use --n 1 to --n 20"),
    ],
)
def test_a_bad_name_or_count_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    project = Project.create(tmp_path)
    proc = project.doit("preview", *args)
    assert proc.returncode == 1
    assert message in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert project.calls() == []


def test_a_bad_n_variable_is_one_line(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    proc = project.doit("preview", "agents/crisis", "n=0")
    assert proc.returncode != 0
    assert "hotdata: n='0' is not a number of samples: use n=1 to n=20" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert project.calls() == []


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    project = _seeded(tmp_path)
    project.doit("fixtures", check=True)
    project.log.unlink()
    before = _tree(project.path("fixtures"))
    proc = project.popen("preview", "agents/crisis", env={"HOTDATA_FAKE_LATENCY": "30"})
    output = Output(proc)
    project.wait_for_call()  # the first sample is waiting for the model
    proc.send_signal(signal.SIGINT)
    text = output.finish()
    assert proc.returncode == 130
    assert "doit preview: interrupted; nothing was written" in text
    assert "Traceback" not in text
    assert _tree(project.path("fixtures")) == before
