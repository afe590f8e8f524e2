"""Run every benchmark and write bench/results.json.

    python -m bench             # load, no-op, generation, hot reload, watch-mode rebuild, replay/verify
    python -m bench --large     # also N = 10,000 for the no-op check
    python -m bench --dvc       # also `dvc status` at N = 1,000 (installs DVC into bench/.dvc-venv)
    python -m bench --embedded  # also the embedded model, `doit preview` with it included (minutes)
    python -m bench --batch     # also batch mode at 1,000 fixtures, 500 under a 20/s rate limit (minutes)
    python -m bench --readme    # then rewrite the README's table (python -m bench.readme_table)
    python -m bench --load-only # only the load figures (re-measure them on a quiet machine)

Each row: metric, label, value, unit, floor (measured in the same run), floor_label,
ratio (value / floor), target, pass (computed from the target), note, command,
machine (with the 1-minute load average at the start and the end of the run: other
work on the machine disturbs the figures). Rows this run did not measure (the optional ones) are kept from the last
run that did, with that run's machine and date.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bench_auto, bench_generate, bench_load, bench_noop, bench_replay, bench_watch, readme_table

RESULTS = Path(__file__).parent / "results.json"
ORDER = (
    "load_",
    "import_",
    "noop_",
    "generate_",
    "hot_reload_",
    "auto_",
    "replay_",
    "batch_",
    "rate_limit_",
    "embedded_",
    "preview_",
)
OPTIONS = ("--large", "--dvc", "--embedded", "--batch", "--readme", "--load-only")


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def merged(measured: list[dict[str, Any]], previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's rows, then the last run's rows of figures this run did not measure,
    grouped in ORDER. Rows of the old layout (no unit) are dropped."""
    seen = {r["metric"] for r in measured}
    kept = [r for r in previous if "unit" in r and r["metric"] not in seen]

    def group(row: dict[str, Any]) -> int:
        return next((i for i, p in enumerate(ORDER) if row["metric"].startswith(p)), len(ORDER))

    return sorted([*measured, *kept], key=group)


def record(measured: list[dict[str, Any]], load_before: float) -> None:
    """Write ``measured`` into results.json in place of the rows of the same metrics (the others
    kept), with this machine and its load average (a single benchmark's ``--record``)."""
    info = {**machine(), "load_average": [load_before, os.getloadavg()[0]]}
    for row in measured:
        row["machine"] = info
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
    RESULTS.write_text(
        json.dumps(merged(measured, previous), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{len(measured)} figure(s) recorded in {RESULTS}")


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a not in OPTIONS]
    if unknown:
        print(f"unknown option {' '.join(unknown)}; use {', '.join(OPTIONS)}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    results += bench_load.run()
    if "--load-only" not in argv:
        results += bench_noop.run([1000, 10000] if "--large" in argv else [1000])
        results += bench_generate.run()
        results += bench_watch.run()
        results += bench_auto.run()
        results += bench_replay.run([100, 1000])
    if "--dvc" in argv:  # installs DVC into bench/.dvc-venv on first use
        from bench import bench_dvc

        results += bench_dvc.run([1000])
    if "--batch" in argv:
        from bench import bench_batch

        results += bench_batch.run()
    if "--embedded" in argv:
        from bench import bench_embedded

        results += bench_embedded.run()
        from bench import bench_preview

        results += bench_preview.run()
    info = {**machine(), "load_average": [load_before, os.getloadavg()[0]]}
    for row in results:
        row["machine"] = info
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
    rows = merged(results, previous)
    RESULTS.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    met = sum(1 for r in results if r["pass"] is True)
    targets = sum(1 for r in results if r["pass"] is not None)
    print(f"\n{met}/{targets} targets met in this run; {len(rows)} figures written to {RESULTS}")
    for r in results:
        if r["pass"] is False:
            print(f"  missed: {r['label']} ({r['target']}){': ' + r['note'] if r.get('note') else ''}")
    if "--readme" in argv:
        readme_table.rewrite()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
