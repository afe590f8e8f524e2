"""No-op check against DVC, the tool users would otherwise pick: `dvc status` on N stages.

Run: python -m bench.bench_dvc [N ...]   (default: 1000; `python -m bench --dvc`)
DVC lives only in the benchmark's own environment (bench/.dvc-venv, made on first
use with `pip install dvc`), never in hotdata's. The pipeline has N stages, each with
one dependency and one output, reproduced once so dvc.lock is committed state; then
`dvc status` (everything up to date) is timed against `doit fixtures` with N fresh
fixtures, both as whole processes, taken in turn, medians of repeated runs. Target:
ahead of DVC.
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
from bench.bench_noop import make_project
from bench.figure import Target, figure, median

DVC_VENV = Path(__file__).parent / ".dvc-venv"


def dvc_binary() -> Path:
    dvc = DVC_VENV / "bin" / "dvc"
    if DVC_VENV.is_symlink() and not DVC_VENV.exists():
        raise SystemExit(
            f"{DVC_VENV} points to {os.readlink(DVC_VENV)}, which does not exist: "
            "remove the link (a venv is made there on the next run) or restore its target"
        )
    if not dvc.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "-q", "dvc"], check=True)
    return dvc


def make_dvc_pipeline(root: Path, n: int, dvc: Path) -> None:
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    lines = ["stages:"]
    for i in range(n):
        (root / "in" / f"{i}.txt").write_text(f"item {i}\n")
        lines += [
            f"  s{i}:",
            f"    cmd: cp in/{i}.txt out/{i}.txt",
            f"    deps: [in/{i}.txt]",
            f"    outs: [out/{i}.txt]",
        ]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    subprocess.run([str(dvc), "init", "--no-scm", "-q"], cwd=root, check=True)
    subprocess.run([str(dvc), "repro", "-q"], cwd=root, check=True, capture_output=True)


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def run(sizes: list[int], repeat: int = 3) -> list[dict[str, Any]]:
    dvc = dvc_binary()
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            dvc_root, hot_root = Path(a), Path(b)
            make_dvc_pipeline(dvc_root, n, dvc)
            make_project(hot_root, n)
            env = clean_env()
            timed([sys.executable, "-m", "doit", "fixtures"], hot_root, env)
            dvc_times, hot_times = [], []
            for _ in range(repeat):
                dvc_times.append(timed([str(dvc), "status", "-q"], dvc_root))
                hot_times.append(timed([sys.executable, "-m", "doit", "fixtures"], hot_root, env))
        d, h = median(dvc_times), median(hot_times)
        print(
            f"N={n:>6}: doit fixtures {h:.2f}s, dvc status {d:.2f}s, ratio {h / d:.2f}x (target: ahead of DVC)"
        )
        results.append(
            figure(
                f"noop_vs_dvc_{n}",
                f"no-op `doit fixtures` vs `dvc status`, N = {n:,}",
                value=h,
                unit="s",
                floor=d,
                floor_label=f"`dvc status`, {n:,} stages",
                target=Target.below_floor(),
                command=f"python -m bench.bench_dvc {n}",
            )
        )
    return results


if __name__ == "__main__":
    run([int(a) for a in sys.argv[1:]] or [1000])
