"""Run every benchmark and write bench/results.json.

    python -m bench             # all but the embedded-model benchmark
    python -m bench --embedded  # also the embedded model (minutes)
    python -m bench --dvc       # also `dvc status` on N stages (installs DVC into bench/.dvc-venv)
    python -m bench --large     # also N = 10,000 for the no-op check

Each metric: value, floor (measured in the same run), ratio, target, pass, machine.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bench_generate, bench_load, bench_noop, bench_watch


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main(argv: list[str]) -> int:
    results: list[dict[str, Any]] = []
    results += bench_load.run()
    results += bench_noop.run([100, 1000, 10000] if "--large" in argv else [100, 1000])
    results += bench_generate.run()
    results += bench_watch.run()
    if "--dvc" in argv:  # installs DVC into bench/.dvc-venv on first use
        from bench import bench_dvc

        results += bench_dvc.run([100, 1000])
    if "--embedded" in argv:
        from bench import bench_embedded

        results += bench_embedded.run()
    info = machine()
    for row in results:
        row["machine"] = info
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    passed = sum(1 for r in results if r["pass"])
    print(f"\n{passed}/{len(results)} targets met; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
