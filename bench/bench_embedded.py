"""The embedded model: the catalog's quality on the first attempt, seconds per fixture, real schemas.

Run: python -m bench.bench_embedded   (or `python -m bench --embedded`; minutes)

1. This repository's catalog, asked of hotdata-local afresh (`doit fixtures force=1
   replay=off`, one fixture at a time) in a temporary copy of the project, so neither the
   working tree nor its build lock is touched: the share of fixtures through every
   quality gate on the first attempt (each prose field may draw two samples per attempt,
   the "best of 2" of `ctx.write`), and seconds per fixture.
2. Thirteen schemas nobody here wrote (bench/real_schemas.py: 7 `openai` SDK models, 6
   hand-written with a discriminated union, a recursive tree, UUID, Decimal, date, email,
   patterns, enums), each asked for whole with `ctx.generate`: how many build within
   the attempts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure
from bench.real_schemas import PROMPTS, write_project

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m bench.bench_embedded"


@dataclass(frozen=True)
class Build:
    """One `doit fixtures` of a project with the embedded model."""

    wall: float  # seconds, the whole process
    returncode: int
    output: str
    fixtures: int
    records: list[dict[str, Any]]  # the records this build wrote; a failed fixture keeps none

    @property
    def first_attempt(self) -> int:
        """Fixtures accepted with no refused attempt: schema-valid and through every quality gate."""
        return sum(1 for r in self.records if not r.get("failed_attempts"))

    @property
    def calls(self) -> int:
        return sum(r.get("usage", {}).get("calls") or 0 for r in self.records)

    @property
    def output_tokens(self) -> int:
        return sum((r.get("usage", {}).get("output_tokens") or 0) for r in self.records)


def _build(project: Path, *args: str) -> Build:
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures", *args],
        cwd=project,
        env=clean_env(HOTDATA_CONCURRENCY="1"),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    records = [json.loads(p.read_text()) for p in sorted((project / "fixtures").rglob("*.meta.json"))]
    rebuilt = [r for r in records if r.get("generated_at", "") >= started_at]
    fixtures = (
        len(list((project / "fixtures").rglob("*.meta.json"))) if (project / "fixtures").exists() else 0
    )
    return Build(wall, proc.returncode, proc.stdout + proc.stderr, fixtures, rebuilt)


def measure_catalog() -> Build:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("pyproject.toml", "dodo.py"):
            shutil.copy2(ROOT / name, project / name)
        for name in ("generators", "fixtures"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        return _build(project, "force=1", "replay=off")


def measure_real_schemas() -> Build:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        write_project(project)
        build = _build(project)
        return Build(build.wall, build.returncode, build.output, len(PROMPTS), build.records)


def figures(catalog: Build, real: Build) -> list[dict[str, Any]]:
    """results.json rows for one measurement."""
    n = max(catalog.fixtures, 1)
    common: dict[str, Any] = {"floor": None, "floor_label": None, "command": COMMAND}
    failed = catalog.fixtures - len(catalog.records)
    note = (
        None
        if catalog.returncode == 0
        else f"doit exited {catalog.returncode}; {failed} fixtures not rebuilt"
    )
    label = f"embedded model, catalog of {catalog.fixtures}"
    return [
        figure(
            "embedded_first_attempt_share",
            f"{label}: through every quality gate on the first attempt (best of 2 samples per field)",
            value=catalog.first_attempt / n,
            unit="share",
            target=Target.value_at_least(0.9, ""),
            also_requires=catalog.returncode == 0,
            note=note,
            **common,
        ),
        figure(
            "embedded_seconds_per_fixture",
            f"{label}: time per fixture ({catalog.calls / n:.1f} model calls each)",
            value=catalog.wall / n,
            unit="s",
            target=Target.value_at_most(5.0, "s"),
            also_requires=catalog.returncode == 0,
            note=note,
            **common,
        ),
        figure(
            "embedded_output_tokens_per_s",
            f"{label}: output tokens per second",
            value=catalog.output_tokens / catalog.wall,
            unit="tok/s",
            target=Target.reported(),
            **common,
        ),
        figure(
            "embedded_real_schemas_built",
            f"embedded model, {real.fixtures} real schemas (openai SDK + hand-written): built within the attempts",
            value=len(real.records),
            unit="schemas",
            target=Target.value_at_least(10, f"of {real.fixtures}"),
            note=f"{real.first_attempt} on the first attempt, {real.wall / max(real.fixtures, 1):.1f} s each",
            **common,
        ),
    ]


def run() -> list[dict[str, Any]]:
    catalog = measure_catalog()
    n = catalog.fixtures
    print(
        f"embedded model, catalog: {n} fixtures in {catalog.wall:.1f}s ({catalog.wall / max(n, 1):.1f} s/fixture, "
        f"{catalog.calls} calls, {catalog.output_tokens / catalog.wall:.1f} output tok/s), "
        f"{catalog.first_attempt}/{n} through every gate on the first attempt; doit exit {catalog.returncode}"
    )
    if catalog.returncode != 0:
        print(catalog.output[-2000:])
    real = measure_real_schemas()
    print(
        f"embedded model, real schemas: {len(real.records)}/{real.fixtures} built "
        f"({real.first_attempt} on the first attempt) in {real.wall:.1f}s"
    )
    for line in real.output.splitlines():
        if line.startswith("  - "):
            print(line[:300])
    return figures(catalog, real)


if __name__ == "__main__":
    run()
