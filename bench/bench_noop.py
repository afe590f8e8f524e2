"""No-op check: `doit fixtures` on N fresh fixtures against doit's own floor.

Run: python -m bench.bench_noop [N ...]   (default: 1000; `python -m bench --large` adds 10000)
The floor is doit itself running N trivial tasks whose uptodate is [True], in the
same run, the two taken in turn. Medians of repeated wall times of whole processes.
Targets (performance issue): <= 1.5x the floor at N = 1,000 (stretch 1.2x); the whole
process <= 1.5 s at N = 10,000. Either also needs that no LLM library or jinja2 was
imported.
"""

from __future__ import annotations

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
import sys, atexit
def report():
    heavy = [m for m in ("jinja2", "llm", "openai", "llama_cpp", "tenacity") if m in sys.modules]
    open({path!r}, "w").write(",".join(heavy))
atexit.register(report)
"""


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


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def run(sizes: list[int], repeat: int = 5) -> list[dict[str, Any]]:
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_project(root, n)
            env = clean_env()
            doit = [sys.executable, "-m", "doit"]
            timed([*doit, "fixtures"], root, env)  # build once with the fake model
            probe = root / "probe.txt"
            env_probe = {**env, "PYTHONSTARTUP": ""}
            hot, floor = [], []
            for _ in range(repeat):
                hot.append(timed([*doit, "fixtures"], root, env))
                floor.append(timed([*doit], root / "floor", env))
            (root / "sitecustomize.py").write_text(PROBE.format(path=str(probe)))
            timed([*doit, "fixtures"], root, {**env_probe, "PYTHONPATH": str(root)})
            heavy = probe.read_text() if probe.exists() else "?"
            h, f = median(hot), median(floor)
            print(
                f"N={n:>6}: doit fixtures (all fresh) {h:.3f}s, doit floor {f:.3f}s, ratio {h / f:.2f}x; "
                f"heavy imports: {heavy or 'none'}"
            )
            results.append(
                figure(
                    f"noop_{n}",
                    f"no-op `doit fixtures`, N = {n:,}",
                    value=h,
                    unit="s",
                    floor=f,
                    floor_label=f"doit, {n:,} up-to-date tasks",
                    target=target(n),
                    command=COMMAND.format(n=n),
                    also_requires=not heavy,
                    note=f"imported {heavy}" if heavy else None,
                )
            )
    return results


if __name__ == "__main__":
    run([int(a) for a in sys.argv[1:]] or [1000])
