"""A first project, written from the README alone: does it build on the first `doit fixtures`?

    python -m bench.bench_first_project                 # build once in a temporary copy, print the rows
    python -m bench.bench_first_project --record        # and merge them into bench/results.json
    python -m bench.bench_first_project --keep          # keep the copy (its path is printed)
    python -m bench.bench_first_project --from DIR      # read a kept copy again instead of building
    python -m bench.bench_first_project --copy-built D  # copy the built data files to D

bench/first_project/ is three domains that are not in the catalog (veterinary visit notes,
bike-shop repair orders, conference talks with speaker bios), twelve fixtures, each generator
written once from a two-line spec and committed before any run; it is never tuned to this
benchmark. The project is copied to a temporary directory and `doit fixtures` is run there
once with the default embedded model (hotdata-local) and no HOTDATA_ setting, as a new user
runs it. Reported: fixtures built on that first build (target: at least 10 of 12), seconds per
fixture (the build's wall time over the twelve; target: at most 5 s), attempts per fixture,
and the refused attempts by the check that refused them (read from each record's
failed_attempts, and from .hotdata/failures.json for the fixtures that failed, which keeps only
the last reason of each). A record's `attempts` counts its model calls; a failed fixture's calls
are the answers failures.json lists. Samples refused inside an attempt (best of 2) are not
recorded anywhere, so the refusal counts are a floor. Meaning-check precision is measured by
bench.bench_meaning.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "bench" / "first_project"
COMMAND = "python -m bench.bench_first_project"
FIXTURES = 12
RUN_FILE = "bench_run.json"  # what the build printed and took, kept beside a kept copy
CHECKS = ("truncated", "repeated", "echo", "degenerate", "near-duplicate", "placeholder", "meta", "schema")
# A reason's check by its wording, when it names none in brackets (first match wins).
WORDING: tuple[tuple[str, str], ...] = (
    ("near-duplicate", r"near.duplicate|says the same as|same thing as"),
    ("truncated", r"truncat|mid-sentence|stopped at its token limit|token limit|cut off|does not end"),
    ("repeated", r"repeat|said again|near-identical"),
    ("echo", r"\becho|copied from the prompt|copies the prompt"),
    ("degenerate", r"degenerate|filler|lorem ipsum|run of (digits|punctuation)|symbol"),
    ("placeholder", r"placeholder|slot nobody filled|unfilled"),
    ("meta", r"\bmeta\b|talks about the task|about itself|commentary"),
    (
        "schema",
        r"schema|validation error|field required|input should|string_too|too_short|too_long|"
        r"not valid json|invalid json|json_invalid|at least \d+|at most \d+",
    ),
)


def python() -> str:
    """The worktree venv's Python (doit, hotdata and the embedded model live there)."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def build(keep: bool) -> Path:
    """Copy the project to a temporary directory and run `doit fixtures` there once."""
    copy = Path(tempfile.mkdtemp(prefix="hotdata-first-project-")) / "first_project"
    shutil.copytree(
        PROJECT,
        copy,
        ignore=shutil.ignore_patterns(
            "__pycache__", ".mypy_cache", ".hotdata", "fixtures", "built", ".doit.db*", "READING.md"
        ),
    )
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(
        [python(), "-m", "doit", "fixtures"],
        cwd=copy,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    status = subprocess.run(
        [python(), "-m", "doit", "status", "--json"],
        cwd=copy,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    run = {
        "wall": wall,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "status": status.stdout,
        "load_average": [load_before, os.getloadavg()[0]],
    }
    (copy / RUN_FILE).write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if keep:
        print(f"kept the build at {copy}", file=sys.stderr)
    return copy


def strings(value: Any) -> list[str]:
    """Every string in a JSON value (the reasons of a failed attempt, however they are nested)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def reasons_of(attempt: Any) -> list[str]:
    """The reasons one refused attempt was refused for."""
    if isinstance(attempt, dict):
        for key in ("reasons", "reason", "errors", "error", "problems"):
            if key in attempt:
                return strings(attempt[key])
    return strings(attempt)


def check_of(reason: str) -> str:
    """The gate that refused: the check named in brackets, or the reason's wording."""
    bracket = re.search(r"\[([a-z-]+)\]", reason)
    if bracket and bracket.group(1) in CHECKS:
        return bracket.group(1)
    lower = reason.lower()
    return next((check for check, pattern in WORDING if re.search(pattern, lower)), "other")


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
    failures_file = copy / ".hotdata" / "failures.json"
    failures: dict[str, Any] = {}
    if failures_file.exists():
        loaded = json.loads(failures_file.read_text(encoding="utf-8"))
        failures = loaded if isinstance(loaded, dict) else {}
    try:
        states = {row["name"]: row for row in json.loads(run["status"] or "[]")}
    except (json.JSONDecodeError, TypeError, KeyError):
        states = {}
    names = sorted(set(states) | set(records) | set(failures)) or built
    refusals: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    attempts = 0
    calls = 0
    for name in built:  # a record's `attempts` counts its model calls, refused ones included
        record = records[name]
        failed = record.get("failed_attempts") or []
        attempts += record["attempts"] if isinstance(record.get("attempts"), int) else 1 + len(failed)
        calls += (record.get("usage") or {}).get("calls") or 0
        for attempt in failed:
            for reason in reasons_of(attempt):
                check = check_of(reason)
                refusals[check] += 1
                examples.setdefault(check, []).append(f"{name}: {reason}")
    built_attempts = attempts
    for name, failure in failures.items():
        if name in built or not isinstance(failure, dict):
            continue
        # A failed fixture keeps no record: its calls are the answers it used, and of its refused
        # attempts only the last reason is kept ("...; last: REASON. Give the instruction...").
        calls += len(failure.get("answers") or [])
        attempts += len(failure.get("answers") or [])
        message = str(failure.get("message", ""))
        last = re.search(r"; last: (.*?)(?:\. Give the instruction|$)", message)
        reason = last.group(1) if last else message
        check = check_of(reason)
        refusals[check] += 1
        examples.setdefault(check, []).append(f"{name} (failed; last reason only): {reason}")
    output = run["stdout"] + run["stderr"]
    failed_names = [n for n in names if n not in built]
    failure_lines = [
        line
        for line in output.splitlines()
        if any(n in line for n in failed_names) or re.search(r"\bfail|error|Traceback", line, re.I)
    ]
    return {
        "fixtures": max(len(names), FIXTURES),
        "built": built,
        "failed": failed_names,
        "wall": run["wall"],
        "returncode": run["returncode"],
        "attempts": attempts,
        "calls": calls,
        "built_attempts": built_attempts,
        "refusals": refusals,
        "examples": examples,
        "failure_lines": failure_lines,
        "summary": [line for line in output.splitlines() if line.startswith("hotdata:")],
        "load_average": run.get("load_average"),
    }


def figures(found: dict[str, Any]) -> list[dict[str, Any]]:
    n = found["fixtures"]
    built = len(found["built"])
    common: dict[str, Any] = {"floor": None, "floor_label": None, "command": COMMAND}
    label = f"first project from the README ({n} fixtures, three new domains, embedded model)"
    rows = [
        figure(
            "first_project_built",
            f"{label}: built on the first `doit fixtures`",
            value=float(built),
            unit="fixtures",
            target=Target.value_at_least(10, f"of {n}"),
            note=f"{built} of {n}; doit exited {found['returncode']}",
            **common,
        ),
        figure(
            "first_project_seconds_per_fixture",
            f"{label}: seconds per fixture (wall time of the build / {n})",
            value=found["wall"] / n,
            unit="s",
            target=Target.value_at_most(5.0, "s"),
            note=f"{found['wall']:.0f} s for the build, {found['calls']} model calls",
            **common,
        ),
        figure(
            "first_project_attempts_per_fixture",
            f"{label}: attempts (model calls) per fixture, failed ones included",
            value=found["attempts"] / n,
            unit="attempts",
            target=Target.reported(),
            note=f"{found['attempts']} calls for {n} fixtures; {found['built_attempts']} for the {built} built",
            **common,
        ),
    ]
    return rows + refusal_rows("first_project", label, found["refusals"], common)


def refusal_rows(
    prefix: str, label: str, refusals: Counter[str], common: dict[str, Any]
) -> list[dict[str, Any]]:
    """One reported row per check that refused attempts, most refusals first."""
    return [
        figure(
            f"{prefix}_refusals_{check}",
            f"{label}: attempts refused by `{check}`",
            value=float(count),
            unit="refusals",
            target=Target.reported(),
            **common,
        )
        for check, count in sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def main(argv: list[str]) -> int:
    args = list(argv)
    source = None
    dest = None
    if "--from" in args:
        source = Path(args[args.index("--from") + 1])
    if "--copy-built" in args:
        dest = Path(args[args.index("--copy-built") + 1])
    copy = source or build(keep="--keep" in args or dest is not None)
    found = read(copy)
    rows = figures(found)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    print(
        f"built {len(found['built'])}/{found['fixtures']}, {found['wall']:.1f} s "
        f"({found['wall'] / found['fixtures']:.2f} s per fixture), {found['attempts']} attempts, "
        f"refusals {dict(found['refusals'])}",
        file=sys.stderr,
    )
    for line in found["summary"]:
        print(line, file=sys.stderr)
    if found["failed"]:
        print(f"failed: {', '.join(found['failed'])}", file=sys.stderr)
        for line in found["failure_lines"]:
            print(f"  {line}", file=sys.stderr)
    for check, lines in sorted(found["examples"].items()):
        for line in lines:
            print(f"refused by {check}: {line}", file=sys.stderr)
    if dest is not None:
        for name in found["built"]:
            target = dest / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(copy / "fixtures" / f"{name}.json", target)
    if "--record" in args:
        from bench.__main__ import RESULTS, machine, merged

        for row in rows:
            row["machine"] = {**machine(), "load_average": found["load_average"]}
        previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
        RESULTS.write_text(
            json.dumps(merged(rows, previous), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if source is None and "--keep" not in args and dest is None:
        shutil.rmtree(copy.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
