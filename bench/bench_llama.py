"""The embedded model's llama.cpp build and its worker process: tokens per second, seconds per fixture.

Run: python -m bench.bench_llama [--native PYTHON] [--inprocess PYTHON] [--rounds N]

* Decode speed of this environment's llama.cpp (the portable build the README's set-up
  makes): output tokens per second over a fixed set of prose and structured requests,
  through the worker process, seeded.
* ``--native PYTHON``: the same, measured in turn with another environment's Python whose
  llama-cpp-python was built natively (``-march=native``) — where that build runs; the
  ratio portable / native is the price of portability on this CPU.
* ``--inprocess PYTHON``: the catalog built from scratch (``doit fixtures force=1
  replay=off``, one fixture at a time) with this code (model in a worker process) and
  with another environment's hotdata (a checkout from before the worker, model loaded in
  the build process), in turn, ``--rounds`` times: the median seconds per fixture of each
  and their ratio, and whether both wrote byte-identical fixtures.

Rounds alternate A B A B so that a drifting machine moves both sides alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m bench.bench_llama"

# Run by the measured environment's Python: tokens per second through hotdata-local's worker.
_DECODE = r"""
import json, sys, time
import llm
model = llm.get_model("hotdata-local")
model.prompt("Hi", max_tokens=1).text()  # start the worker (load, warm up): not part of the rate
prompts = [
    ("In two sentences, describe how Vesper feels before the launch.", {"prefill": "Vesper feels", "sentences": 2}),
    ("In two sentences, describe the harbor at dawn.", {"prefill": "The harbor", "sentences": 2}),
    ("In one sentence, say what the team fears most.", {"prefill": "Most of all, the team fears", "sentences": 1}),
]
schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 30},
          "phase": {"enum": ["deliberating", "crisis", "resting"]}}, "required": ["name", "phase"]}
tokens, seconds = 0, 0.0
for seed in range(int(sys.argv[1])):
    for text, options in prompts:
        start = time.perf_counter()
        response = model.prompt(text, seed=seed, max_tokens=96, **options)
        response.text()
        seconds += time.perf_counter() - start
        tokens += response.usage().output or 0
    start = time.perf_counter()
    response = model.prompt("Describe an agent, in JSON.", schema=schema, seed=seed, temperature=0.8)
    response.text()
    seconds += time.perf_counter() - start
    tokens += response.usage().output or 0
info = __import__("llama_cpp").llama_print_system_info().decode().strip()
print(json.dumps({"tokens": tokens, "seconds": seconds, "system_info": info}))
"""


def decode_rate(python: str, seeds: int) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", _DECODE, str(seeds)], capture_output=True, text=True, env=clean_env(), timeout=1800
    )
    if proc.returncode != 0:
        return {"error": (proc.stdout + proc.stderr)[-500:], "returncode": proc.returncode}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rate"] = result["tokens"] / result["seconds"]
    return result


def catalog_build(python: str) -> tuple[float, int, dict[str, bytes]]:
    """(seconds, fixtures, data files) of the catalog built afresh by ``python``'s hotdata."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("pyproject.toml", "dodo.py"):
            shutil.copy2(ROOT / name, project / name)
        for name in ("generators", "fixtures"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        start = time.perf_counter()
        proc = subprocess.run(
            [python, "-m", "doit", "fixtures", "force=1", "replay=off"],
            cwd=project,
            env=clean_env(HOTDATA_CONCURRENCY="1"),
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stdout[-1500:], proc.stderr[-500:])
        data = {
            str(p.relative_to(project)): p.read_bytes()
            for p in sorted((project / "fixtures").rglob("*.json"))
            if not p.name.endswith(".meta.json") and ".answers" not in p.parts
        }
        return wall, len(data), data


def run(native: str | None = None, inprocess: str | None = None, rounds: int = 3) -> list[dict[str, Any]]:
    common: dict[str, Any] = {"command": COMMAND}
    rows: list[dict[str, Any]] = []
    here = sys.executable
    portable: list[float] = []
    other: list[float] = []
    for _ in range(rounds):
        mine = decode_rate(here, 4)
        if "error" in mine:
            print(f"portable build failed: {mine}")
            return rows
        portable.append(mine["rate"])
        if native:
            theirs = decode_rate(native, 4)
            if "error" in theirs:
                print(f"native build did not run here (exit {theirs['returncode']}): {theirs['error']}")
                native = None
            else:
                other.append(theirs["rate"])
    rate = statistics.median(portable)
    print(f"portable build: {rate:.1f} output tok/s (median of {rounds}; {mine['system_info']})")
    rows.append(
        figure(
            "embedded_portable_tokens_per_s",
            "embedded model, portable llama.cpp (GGML_NATIVE=OFF): output tokens per second through the worker",
            value=rate,
            unit="tok/s",
            target=Target.reported(),
            floor=statistics.median(other) if other else None,
            floor_label="native build (-march=native) on the same machine" if other else None,
            **common,
        )
    )
    if other:
        print(
            f"native build: {statistics.median(other):.1f} output tok/s; portable / native = "
            f"{rate / statistics.median(other):.2f} (pairs: "
            + ", ".join(f"{a / b:.2f}" for a, b in zip(portable, other, strict=False))
            + ")"
        )
    if inprocess:
        worker_s: list[float] = []
        old_s: list[float] = []
        same = 0
        n = 0
        for _ in range(rounds):
            wall, n, mine_data = catalog_build(here)
            old_wall, _, old_data = catalog_build(inprocess)
            worker_s.append(wall / max(n, 1))
            old_s.append(old_wall / max(n, 1))
            same = sum(1 for k, v in mine_data.items() if old_data.get(k) == v)
        ratio = statistics.median(a / b for a, b in zip(worker_s, old_s, strict=True))
        print(
            f"catalog of {n}: {statistics.median(worker_s):.2f} s/fixture with the worker, "
            f"{statistics.median(old_s):.2f} s/fixture in-process; ratio {ratio:.2f} (median of pairs); "
            f"{same}/{n} fixtures byte-identical"
        )
        rows.append(
            figure(
                "embedded_worker_seconds_per_fixture",
                f"embedded model in a worker process, catalog of {n}: seconds per fixture",
                value=statistics.median(worker_s),
                unit="s",
                floor=statistics.median(old_s),
                floor_label="the model loaded in the build process (hotdata before the worker)",
                target=Target.ratio_at_most(1.1),
                note=f"{same}/{n} fixtures byte-identical between the two",
                **common,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--native", help="Python of an environment with a natively built llama-cpp-python")
    parser.add_argument("--inprocess", help="Python of an environment with hotdata from before the worker")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for row in run(args.native, args.inprocess, args.rounds):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
