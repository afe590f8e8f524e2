"""Field-scoped repair against asking the whole value again, on a domain hotdata was not tuned on.

    python -m bench.bench_repair            # build twice in temporary copies, print the rows
    python -m bench.bench_repair --record   # and merge them into bench/results.json

The four conference talks of bench/first_project (their generators committed as written, each
asking ``ctx.generate`` for a title, an abstract and three takeaways) are built with the default
embedded model twice from an empty answer store: once with ``retries.repair = "field"`` (the
default: a value refused at a few fields is asked again there) and once with ``"whole"``. Same
seeds, so both builds get the same first answers; they differ in what a refusal costs.

Reported: fixtures built by each, model calls and output tokens each spent, seconds, and, from
the field build's records, the output tokens of each field asked again alone against those of the
whole answer it stood in for (measured in the same run: the floor).
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
PROJECT = ROOT / "bench" / "first_project"
COMMAND = "python -m bench.bench_repair"
TALKS = ("zero_downtime_migrations", "mobile_accessibility", "volunteer_maintainers", "ml_energy")


def build(mode: str, where: Path) -> dict[str, Any]:
    """One build of the talks with ``retries.repair = mode``: what it built and spent."""
    project = where / mode
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns("built", "fixtures", "__pycache__", ".hotdata")
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'\n[tool.hotdata.retries]\nrepair = "{mode}"\n')
    tasks = [f"fixtures:talks/{slug}" for slug in TALKS]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "doit", *tasks], cwd=project, env=clean_env(), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    records = [
        json.loads(path.read_text()) for path in sorted((project / "fixtures" / "talks").glob("*.meta.json"))
    ]
    summary = next((line for line in reversed(proc.stdout.splitlines()) if "model call" in line), "")
    return {
        "mode": mode,
        "built": len(records),
        "calls": sum(r["usage"]["calls"] for r in records),
        "output_tokens": sum(r["usage"]["output_tokens"] or 0 for r in records),
        "repairs": [rep for r in records for rep in r.get("repairs", [])],
        "seconds": seconds,
        "summary": summary,
        "failed": [line.strip() for line in proc.stdout.splitlines() if "FAILED" in line],
    }


def main(argv: list[str]) -> int:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hotdata-bench-repair-") as tmp:
        runs = {mode: build(mode, Path(tmp)) for mode in ("field", "whole")}
    for run in runs.values():
        print(
            f"repair = {run['mode']}: {run['built']}/{len(TALKS)} built, {run['calls']} calls and "
            f"{run['output_tokens']:,} output tokens in the built records, {run['seconds']:.0f} s; "
            f"the build said: {run['summary']}"
        )
        for line in run["failed"]:
            print(f"  {line[:400]}")
    repairs = runs["field"]["repairs"]
    for rep in repairs:
        print(
            f"  repaired {rep['pointer']}: {rep['output_tokens']} output tokens, "
            f"against {rep['whole_output_tokens']} for the whole answer"
        )
    rows: list[dict[str, Any]] = []
    if repairs:
        field_tokens = median(r["output_tokens"] or 0 for r in repairs)
        whole_tokens = median(r["whole_output_tokens"] or 0 for r in repairs)
        rows.append(
            figure(
                "repair_field_tokens",
                f"field-scoped repair: output tokens of one refused field asked again ({len(repairs)} repairs, "
                "first-project talks, embedded model; median)",
                value=field_tokens,
                unit="tokens",
                floor=whole_tokens,
                floor_label="the whole answer it stood in for (median)",
                target=Target.reported(),
                command=COMMAND,
            )
        )
    for mode, run in runs.items():
        rows.append(
            figure(
                f"repair_{mode}_built",
                f"talks built from an empty answer store with repair = {mode} (of {len(TALKS)}; "
                f"{run['calls']} calls, {run['output_tokens']:,} output tokens, {run['seconds']:.0f} s)",
                value=run["built"],
                unit="fixtures",
                floor=None,
                floor_label=None,
                target=Target.reported(),
                command=COMMAND,
            )
        )
    for row in rows:
        print(json.dumps({k: row[k] for k in ("metric", "value", "floor", "ratio")}))
    if "--record" in argv:
        from bench.__main__ import record

        record(rows, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
