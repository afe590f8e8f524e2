"""The embedded model: seconds per fixture and the share valid on the first attempt.

Run: python -m bench.bench_embedded   (or `python -m bench --embedded`; minutes)
Regenerates this repository's catalog with hotdata-local (force=1, one fixture at a
time) in a temporary copy of the project (pyproject.toml, dodo.py, generators/,
fixtures/), so neither the working tree nor its build lock is touched, then reads
attempts and token counts from the records. ``measure()`` builds; ``figures()`` turns one build into
results.json rows: add the embedded model's further figures there.
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

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m bench.bench_embedded"


@dataclass(frozen=True)
class CatalogBuild:
    """One `doit fixtures force=1` of the whole catalog with the embedded model."""

    wall: float  # seconds, the whole process
    returncode: int
    output: str  # doit's stdout and stderr
    fixtures: int  # fixtures in the catalog (records in fixtures/)
    records: list[dict[str, Any]]  # the records this build wrote; a failed fixture keeps its old one

    @property
    def first_attempt(self) -> int:
        """Fixtures accepted on the first attempt: schema-valid and through every quality gate."""
        return sum(1 for r in self.records if r.get("attempts") == 1)

    @property
    def output_tokens(self) -> int:
        return sum((r.get("usage", {}).get("output_tokens") or 0) for r in self.records)


def measure() -> CatalogBuild:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("pyproject.toml", "dodo.py"):
            shutil.copy2(ROOT / name, project / name)
        for name in ("generators", "fixtures"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        env = clean_env(HOTDATA_CONCURRENCY="1")
        started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "doit", "fixtures", "force=1"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        records = [json.loads(p.read_text()) for p in sorted((project / "fixtures").rglob("*.meta.json"))]
    rebuilt = [r for r in records if r.get("generated_at", "") >= started_at]
    return CatalogBuild(wall, proc.returncode, proc.stdout + proc.stderr, len(records), rebuilt)


def figures(build: CatalogBuild) -> list[dict[str, Any]]:
    """results.json rows for one catalog build.

    The place to grow the embedded model's figures (each a ``figure(...)`` with its
    target): the share of catalog fixtures through every quality gate on the first
    attempt, seconds per fixture, builds of real schemas, ...
    """
    n = max(build.fixtures, 1)
    ok = build.returncode == 0
    failed = build.fixtures - len(build.records)
    note = (
        None if ok else f"doit exited {build.returncode}; {failed} of {build.fixtures} fixtures not rebuilt"
    )
    common: dict[str, Any] = {
        "floor": None,
        "floor_label": None,
        "command": COMMAND,
        "also_requires": ok,
        "note": note,
    }
    label = f"embedded model, catalog of {build.fixtures}"
    return [
        figure(
            "embedded_seconds_per_fixture",
            f"{label}: time per fixture",
            value=build.wall / n,
            unit="s",
            target=Target.reported(),
            **common,
        ),
        figure(
            "embedded_first_attempt_share",
            f"{label}: accepted on the first attempt",
            value=build.first_attempt / n,
            unit="share",
            target=Target.reported(),
            **common,
        ),
        figure(
            "embedded_output_tokens_per_s",
            f"{label}: output tokens per second",
            value=build.output_tokens / build.wall,
            unit="tok/s",
            target=Target.reported(),
            **common,
        ),
    ]


def run() -> list[dict[str, Any]]:
    build = measure()
    n = build.fixtures
    print(
        f"embedded model: {n} fixtures in {build.wall:.1f}s ({build.wall / max(n, 1):.1f} s/fixture, "
        f"{build.output_tokens / build.wall:.1f} output tok/s), {build.first_attempt}/{n} accepted on the "
        f"first attempt, {len(build.records)}/{n} rebuilt; doit exit {build.returncode}"
    )
    if build.returncode != 0:
        print(build.output[-2000:])
    return figures(build)


if __name__ == "__main__":
    run()
