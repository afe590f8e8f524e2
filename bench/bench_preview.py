"""Seconds to first output of ``doit preview`` with the embedded model, beside ``doit list``.

    python -m bench.bench_preview            # measure, print the rows
    python -m bench.bench_preview --record   # and merge them into bench/results.json

This repository's catalog (``dodo.py``, ``pyproject.toml``, ``generators/``; never its
``fixtures/``) is copied into a temporary directory, and ``doit preview test/agent_minimal n=1``
runs there in a fresh process, with the default embedded model (``hotdata-local``), three
times. Measured from the start of the process: its first line (the header), and the first
sample's panel (its first line: the model loaded, the generator run, the value gated). The
floor is ``doit list`` in the same copy, in the same run, taken in turn with the previews: a
process that imports doit and the catalog and asks no model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

from bench import clean_env
from bench.figure import Target, figure

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m bench.bench_preview"
FIXTURE = "test/agent_minimal"
ROUNDS = 3


def preview_once(project: Path) -> tuple[float, float, bool]:
    """One ``doit preview``: seconds to its first line, to the first sample's panel, and whether
    the sample passed its gates."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit", "preview", FIXTURE, "n=1"],
        cwd=project,
        env=clean_env(COLUMNS="100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = panel = 0.0
    passed = False
    for line in proc.stdout:
        now = time.perf_counter() - started
        first = first or now
        if line.startswith("╭─ sample 1") and not panel:
            panel = now
            passed = "· passed" in line
    proc.wait()
    return first, panel, passed


def list_once(project: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "doit", "list"], cwd=project, env=clean_env(), capture_output=True, check=True
    )
    return time.perf_counter() - started


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="hotdata-bench-preview-") as tmp:
        project = Path(tmp) / "catalog"
        project.mkdir()
        for name in ("dodo.py", "pyproject.toml"):
            shutil.copy(ROOT / name, project / name)
        shutil.copytree(
            ROOT / "generators", project / "generators", ignore=shutil.ignore_patterns("__pycache__")
        )
        list_once(project)  # bytecode written once, as on a user's second run
        firsts, panels, lists, passed = [], [], [], 0
        for _ in range(ROUNDS):
            first, panel, ok = preview_once(project)
            firsts.append(first)
            panels.append(panel)
            passed += ok
            lists.append(list_once(project))
        written = (project / "fixtures").exists()
    floor = median(lists)
    print(
        f"doit preview {FIXTURE} n=1 (hotdata-local): first line {median(firsts):.2f} s, first sample "
        f"{median(panels):.2f} s (runs {', '.join(f'{p:.1f}' for p in panels)}; {passed}/{ROUNDS} passed); "
        f"doit list {floor:.2f} s; fixtures/ written: {written}"
    )
    measured = all(panels) and not written
    note = f"median of {ROUNDS} runs ({', '.join(f'{p:.2f}' for p in panels)} s); {passed}/{ROUNDS} samples passed"
    return [
        figure(
            "preview_first_sample",
            f"`doit preview {FIXTURE} n=1`, embedded model: seconds to the first sample shown",
            value=median(panels),
            unit="s",
            floor=floor,
            floor_label="`doit list` (catalog imported, no model)",
            target=Target.reported(),
            command=COMMAND,
            also_requires=measured,
            note=note,
        ),
        figure(
            "preview_first_line",
            f"`doit preview {FIXTURE} n=1`, embedded model: seconds to its first line",
            value=median(firsts),
            unit="s",
            floor=floor,
            floor_label="`doit list` (catalog imported, no model)",
            target=Target.ratio_at_most(1.5),
            command=COMMAND,
            also_requires=measured,
            note=f"median of {ROUNDS} runs",
        ),
    ]


def main(argv: list[str]) -> int:
    load_before = os.getloadavg()[0]
    rows = run()
    for row in rows:
        print(json.dumps({k: row[k] for k in ("metric", "value", "floor", "ratio", "pass")}))
    if "--record" in argv:
        from bench.__main__ import record

        record(rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
