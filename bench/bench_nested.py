"""Nested schemas with the embedded model: does one `ctx.generate` of an object holding lists of
objects build, and what does it write?

    python -m bench.bench_nested             # build once in a temporary copy, print rows and samples
    python -m bench.bench_nested --record    # and merge the rows into bench/results.json
    python -m bench.bench_nested --keep      # keep the copy (its path is printed)
    python -m bench.bench_nested --from DIR  # read a kept copy again instead of building
    python -m bench.bench_nested --serial    # one fixture at a time (HOTDATA_CONCURRENCY=1)

bench/nested_project/ holds three nested schemas from domains not in the catalog (a recipe with
ingredient objects and steps, a hike with days holding stops, a game night with players and
rounds), two fixtures each, every generator a single `ctx.generate` of the whole schema;
written once before any tuning and committed as written. The project is copied to a temporary
directory and `doit fixtures` runs there once with the default embedded model (hotdata-local),
as a user runs it (with ``--serial``, one fixture at a time: the fixtures otherwise share the
one embedded worker, and each one's ``fixture_timeout`` counts the waiting). Reported: fixtures built, seconds per fixture (the build's wall time over the
fixtures) and model calls per fixture, refusals by check, and sample values printed so a reader
can judge them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.bench_first_project import check_of, python, reasons_of, refusal_rows
from bench.figure import Target, figure

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "bench" / "nested_project"
COMMAND = "python -m bench.bench_nested"
FIXTURES = 6
RUN_FILE = "bench_run.json"


def build(keep: bool, serial: bool = False) -> Path:
    """Copy the project to a temporary directory and run `doit fixtures` there once."""
    copy = Path(tempfile.mkdtemp(prefix="hotdata-nested-")) / "nested_project"
    shutil.copytree(
        PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__", ".hotdata", "fixtures", ".doit.db*")
    )
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(
        [python(), "-m", "doit", "fixtures"],
        cwd=copy,
        env=clean_env(**({"HOTDATA_CONCURRENCY": "1"} if serial else {})),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    run = {
        "wall": wall,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "load_average": [load_before, os.getloadavg()[0]],
        "serial": serial,
    }
    (copy / RUN_FILE).write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if keep:
        print(f"kept the build at {copy}", file=sys.stderr)
    return copy


def read(copy: Path) -> dict[str, Any]:
    """The build's figures, from its records, its failures and what it printed."""
    run = json.loads((copy / RUN_FILE).read_text(encoding="utf-8"))
    fixtures_dir = copy / "fixtures"
    records = {
        str(p.relative_to(fixtures_dir))[: -len(".meta.json")]: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(fixtures_dir.rglob("*.meta.json"))
        if not any(part.startswith(".") for part in p.relative_to(fixtures_dir).parts)
    }
    built = sorted(name for name in records if (fixtures_dir / f"{name}.json").exists())
    values = {name: json.loads((fixtures_dir / f"{name}.json").read_text(encoding="utf-8")) for name in built}
    failures_file = copy / ".hotdata" / "failures.json"
    failures: dict[str, Any] = {}
    if failures_file.exists():
        loaded = json.loads(failures_file.read_text(encoding="utf-8"))
        failures = loaded if isinstance(loaded, dict) else {}
    refusals: Counter[str] = Counter()
    calls = 0
    for name in built:
        record = records[name]
        calls += record["attempts"] if isinstance(record.get("attempts"), int) else 0
        for attempt in record.get("failed_attempts") or []:
            for reason in reasons_of(attempt):
                refusals[check_of(reason)] += 1
    messages = {}
    for name, failure in failures.items():
        if name in built or not isinstance(failure, dict):
            continue
        calls += len(failure.get("answers") or [])
        messages[name] = str(failure.get("message", ""))
        refusals[check_of(messages[name])] += 1
    output = run["stdout"] + run["stderr"]
    return {
        "built": built,
        "values": values,
        "failed": messages,
        "wall": run["wall"],
        "returncode": run["returncode"],
        "calls": calls,
        "refusals": refusals,
        "lines": [line for line in output.splitlines() if line.startswith(("[", "hotdata:"))],
        "load_average": run.get("load_average"),
        "serial": bool(run.get("serial")),
    }


def figures(found: dict[str, Any]) -> list[dict[str, Any]]:
    n = FIXTURES
    built = len(found["built"])
    serial = found["serial"]
    command = f"{COMMAND} --serial" if serial else COMMAND
    common: dict[str, Any] = {"floor": None, "floor_label": None, "command": command}
    how = "one fixture at a time" if serial else "default concurrency"
    label = f"nested schemas, one ctx.generate each ({n} fixtures, three new domains, embedded model, {how})"
    prefix = "nested_serial" if serial else "nested"
    rows = [
        figure(
            f"{prefix}_built",
            f"{label}: share built on the first `doit fixtures`",
            value=built / n,
            unit="share",
            target=Target.reported(),
            note=f"{built} of {n}; doit exited {found['returncode']}",
            **common,
        ),
        figure(
            f"{prefix}_seconds_per_fixture",
            f"{label}: seconds per fixture (wall time of the build / {n})",
            value=found["wall"] / n,
            unit="s",
            target=Target.value_at_most(5.0, "s"),
            note=f"{found['wall']:.0f} s for the build",
            **common,
        ),
        figure(
            f"{prefix}_calls_per_fixture",
            f"{label}: model calls (attempts) per fixture, failed ones included",
            value=found["calls"] / n,
            unit="calls",
            target=Target.reported(),
            note=f"{found['calls']} calls for {n} fixtures",
            **common,
        ),
    ]
    return rows + refusal_rows(prefix, label, found["refusals"], common)


def main(argv: list[str]) -> int:
    args = list(argv)
    source = Path(args[args.index("--from") + 1]) if "--from" in args else None
    copy = source or build(keep="--keep" in args, serial="--serial" in args)
    found = read(copy)
    rows = figures(found)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    print(
        f"built {len(found['built'])}/{FIXTURES}, {found['wall']:.1f} s "
        f"({found['wall'] / FIXTURES:.1f} s per fixture), {found['calls']} calls, "
        f"refusals {dict(found['refusals'])}, load {found['load_average']}",
        file=sys.stderr,
    )
    for line in found["lines"]:
        print(line, file=sys.stderr)
    for name, message in found["failed"].items():
        print(f"failed {name}: {message}", file=sys.stderr)
    for name, value in found["values"].items():  # every built value, for a reader to judge
        print(f"\n== {name}\n{json.dumps(value, indent=1, ensure_ascii=False)}", file=sys.stderr)
    if "--record" in args:
        from bench.__main__ import record

        record(rows, (found["load_average"] or [0.0])[0])
    if source is None and "--keep" not in args:
        shutil.rmtree(copy.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
