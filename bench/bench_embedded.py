"""The embedded model: seconds per fixture and the share valid on the first attempt.

Run: python -m bench.bench_embedded
Regenerates this repository's catalog into a temporary copy of fixtures/ with
hotdata-local (force=1), then reads attempts and timings from the records.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import clean_env

ROOT = Path(__file__).resolve().parents[1]


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = Path(tmp) / "fixtures"
        shutil.copytree(ROOT / "fixtures", fixtures)
        env = clean_env()
        env["HOTDATA_FIXTURES_DIR"] = str(fixtures)
        env["HOTDATA_CONCURRENCY"] = "1"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "doit", "fixtures", "force=1"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        records = [json.loads(p.read_text()) for p in fixtures.rglob("*.meta.json")]
    n = len(records)
    first = sum(1 for r in records if r["attempts"] == 1)
    per_fixture = wall / max(n, 1)
    tokens = sum((r["usage"].get("output_tokens") or 0) for r in records)
    print(
        f"embedded model: {n} fixtures in {wall:.1f}s ({per_fixture:.1f} s/fixture, {tokens / wall:.1f} output tok/s), "
        f"{first}/{n} valid on the first attempt; doit exit {proc.returncode}"
    )
    return [
        {
            "metric": "embedded_seconds_per_fixture",
            "value": per_fixture,
            "floor": None,
            "ratio": None,
            "target": "reported",
            "pass": proc.returncode == 0,
        },
        {
            "metric": "embedded_first_attempt_valid_share",
            "value": first / max(n, 1),
            "floor": None,
            "ratio": None,
            "target": "reported",
            "pass": proc.returncode == 0,
        },
    ]


if __name__ == "__main__":
    run()
