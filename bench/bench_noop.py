"""No-op check: `doit fixtures` on N fresh fixtures against doit's own floor.

Run: python -m bench.bench_noop [N ...] [--record]   (default: 1000; `python -m bench --large`
adds 10000; --record merges the rows into bench/results.json, then `python -m bench.readme_table`)
The floor is doit itself running N trivial tasks whose uptodate is [True], in the
same run, the two taken in turn. Medians of repeated wall times of whole processes.
Two figures per N: ``noop_{n}``, the run a user gets (the catalog snapshot in
``.hotdata/`` answers; warmed up until it exists), and ``noop_full_{n}``, the same run
with the snapshot deleted first (the catalog imported, every fixture asked of the index).
Every run, the floor's too, has the same PYTHONPATH probe (a sitecustomize outside the
project) that says which heavy modules the run imported.
Targets (performance issue): <= 1.5x the floor at N = 1,000 (stretch 1.2x); the whole
process <= 1.5 s at N = 10,000. Either also needs that no LLM library or jinja2 was
imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure, median

COMMAND = "python -m bench.bench_noop {n}"

PYPROJECT = """
[tool.hotdata]
generators = ["gens"]
templates_dir = "templates"
model = "hotdata-fake"
llm_plugins = ["hotdata.testing.fake_models"]
concurrency = 8

[tool.hotdata.quality]
# the fake model writes from a small vocabulary: at 10,000 variants some say the same thing, and
# the near-duplicate gate (rightly) refuses them; this bench times the no-op check, not the gates
checks = ["truncated", "repeated", "echo", "degenerate"]
"""

GENS = """
from pydantic import BaseModel
from hotdata.make import fixture

class Item(BaseModel):
    title: str
    score: int

@fixture("items/{{i}}", schema=Item, template="item.j2", variants=[{{"i": i}} for i in range({n})])
async def item(ctx, i):
    return await ctx.generate(ctx.render())
"""

FLOOR = """
def task_floor():
    for i in range({n}):
        yield {{"name": f"t{{i}}", "actions": [lambda: True], "uptodate": [True]}}
DOIT_CONFIG = {{"backend": "json", "verbosity": 0, "default_tasks": ["floor"]}}
"""

PROBE = """
import atexit, sys
def report():
    heavy = [m for m in {heavy!r} if m in sys.modules]
    with open({path!r}, "w") as out:
        out.write(",".join(heavy))
atexit.register(report)
"""
# what a no-op must not import (gens: the bench project's generator modules)
HEAVY = ("gens", "pydantic", "jinja2", "llm", "openai", "llama_cpp", "tenacity")
# the import-time modules the targets forbid (pydantic and the generators are the full path's)
FORBIDDEN = ("jinja2", "llm", "openai", "llama_cpp", "tenacity")
SNAPSHOT = Path(".hotdata") / "catalog-snapshot.json"
WARM_UP = 10


def make_project(root: Path, n: int) -> None:
    (root / "gens").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "gens" / "__init__.py").write_text(GENS.format(n=n))
    (root / "templates" / "item.j2").write_text("Item {{ i }}\n")
    (root / "dodo.py").write_text("from hotdata.make import doit_project\nglobals().update(doit_project())\n")
    floor = root / "floor"
    floor.mkdir()
    (floor / "dodo.py").write_text(FLOOR.format(n=n))


def target(n: int) -> Target:
    """The issue's: near doit's floor at N = 1,000; the whole process within 1.5 s at 10,000."""
    return Target.value_at_most(1.5, "s") if n >= 10_000 else Target.ratio_at_most(1.5, stretch=1.2)


def timed(cmd: list[str], cwd: Path, env: dict[str, str], probe: Path | None = None) -> tuple[float, str]:
    """Wall time of one whole process, and the heavy modules its probe saw."""
    if probe is not None:
        probe.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    heavy = probe.read_text() if probe is not None and probe.exists() else "?"
    return elapsed, heavy


def _row(
    n: int, metric: str, label: str, value: float, floor: float, heavy: set[str], *, held: bool = True
) -> dict[str, Any]:
    """``held``: the figure is held to the issue's target (the full path's is only reported)."""
    forbidden = sorted(heavy & set(FORBIDDEN))
    return figure(
        metric,
        label,
        value=value,
        unit="s",
        floor=floor,
        floor_label=f"doit, {n:,} up-to-date tasks",
        target=target(n) if held else Target.reported(),
        command=COMMAND.format(n=n),
        also_requires=not forbidden,
        note=f"imported {', '.join(sorted(heavy))}" if heavy else None,
    )


def run(sizes: list[int], repeat: int = 5) -> list[dict[str, Any]]:
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            root.mkdir()
            make_project(root, n)
            probes = Path(tmp) / "probe"  # outside the project: the same PYTHONPATH for every run
            probes.mkdir()
            probe = Path(tmp) / "heavy.txt"
            (probes / "sitecustomize.py").write_text(PROBE.format(heavy=HEAVY, path=str(probe)))
            env = clean_env(PYTHONPATH=str(probes))
            doit = [sys.executable, "-m", "doit"]
            timed([*doit, "fixtures"], root, env)  # build once with the fake model
            snapshot = root / SNAPSHOT
            for _ in range(WARM_UP):  # a file written in the last 3 s is not trusted: runs until it is
                timed([*doit, "fixtures"], root, env)
                if snapshot.exists():
                    break
            hot, full, floor = [], [], []
            seen: dict[str, set[str]] = {"hot": set(), "full": set()}
            for _ in range(repeat):
                wall, heavy = timed([*doit, "fixtures"], root, env, probe)
                hot.append(wall)
                seen["hot"].update(h for h in heavy.split(",") if h)
                snapshot.unlink(missing_ok=True)  # the full path: the catalog imported, as without it
                wall, heavy = timed([*doit, "fixtures"], root, env, probe)
                full.append(wall)
                seen["full"].update(h for h in heavy.split(",") if h)
                floor.append(timed([*doit], root / "floor", env, probe)[0])
                for _ in range(WARM_UP):  # the full run wrote the snapshot again, once it can be trusted
                    if snapshot.exists():
                        break
                    timed([*doit, "fixtures"], root, env)
            h, fu, f = median(hot), median(full), median(floor)
            for what, value in (("snapshot", h), ("full path", fu)):
                heavy_seen = seen["hot" if what == "snapshot" else "full"]
                print(
                    f"N={n:>6}: doit fixtures (all fresh, {what}) {value:.3f}s, doit floor {f:.3f}s, "
                    f"ratio {value / f:.2f}x; imported: {', '.join(sorted(heavy_seen)) or 'none of ' + ', '.join(HEAVY)}"
                )
            results.append(_row(n, f"noop_{n}", f"no-op `doit fixtures`, N = {n:,}", h, f, seen["hot"]))
            results.append(
                _row(
                    n,
                    f"noop_full_{n}",
                    f"no-op `doit fixtures`, N = {n:,}, no snapshot (catalog imported)",
                    fu,
                    f,
                    seen["full"],
                    held=False,
                )
            )
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    measured = run([int(a) for a in args if a != "--record"] or [1000])
    if "--record" in args:
        from bench.__main__ import record

        record(measured, os.getloadavg()[0])
