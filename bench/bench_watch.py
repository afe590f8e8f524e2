"""Hot reload latency: atomic replace of a fixture -> HotDataWatcher callback.

Run: python -m bench.bench_watch [ROUNDS]
The floor is raw watchfiles with the same settings (step=10 ms, debounce=100 ms)
seeing the same kind of replace, measured in the same run. Targets: p50 <= 50 ms,
p95 <= 100 ms, every round seen.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import watchfiles
from pydantic import BaseModel

from bench.figure import Target, figure, percentile
from hotdata import HotData, HotDataRegistry, HotDataWatcher
from hotdata.testing import write_fixture


class Snapshot(BaseModel):
    name: str
    round: int
    notes: list[str]


def hotdata_latencies(root: Path, rounds: int) -> list[float]:
    reg = HotDataRegistry()
    handle = reg.register("snap", HotData.from_name(root, "snap", Snapshot))
    write_fixture(handle, Snapshot(name="s", round=-1, notes=[]))
    arrived: dict[int, float] = {}
    got = threading.Event()
    watcher = HotDataWatcher(root, reg, step=10, debounce=100)

    @watcher.on_change("snap")
    def _(value: Snapshot) -> None:
        arrived[value.round] = time.perf_counter()
        got.set()

    latencies = []
    with watcher:
        time.sleep(0.3)
        for i in range(rounds):
            got.clear()
            start = time.perf_counter()
            write_fixture(handle, Snapshot(name="s", round=i, notes=[f"note {j}" for j in range(20)]))
            if got.wait(2.0) and i in arrived:
                latencies.append((arrived[i] - start) * 1000)
            time.sleep(0.15)
    return latencies


def raw_latencies(root: Path, rounds: int) -> list[float]:
    target = root / "raw.json"
    target.write_text("{}")
    stop = threading.Event()
    seen: list[float] = []
    got = threading.Event()

    def run() -> None:
        for _ in watchfiles.watch(root, step=10, debounce=100, stop_event=stop, yield_on_timeout=False):
            seen.append(time.perf_counter())
            got.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.3)
    latencies = []
    for i in range(rounds):
        got.clear()
        start = time.perf_counter()
        tmp = root / f".raw.{i}.tmp"
        tmp.write_text(f'{{"round": {i}}}')
        tmp.replace(target)
        if got.wait(2.0):
            latencies.append((seen[-1] - start) * 1000)
        time.sleep(0.15)
    stop.set()
    thread.join(2)
    return latencies


def run(rounds: int = 60) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        hot = hotdata_latencies(Path(a), rounds)
        raw = raw_latencies(Path(b), rounds)
    results = []
    for label, q, limit in (("p50", 0.5, 50.0), ("p95", 0.95, 100.0)):
        h, r = percentile(hot, q), percentile(raw, q)
        print(
            f"hot reload {label}: HotDataWatcher {h:.1f} ms, raw watchfiles {r:.1f} ms "
            f"(ratio {h / r:.2f}x) over {len(hot)}/{rounds} rounds"
        )
        results.append(
            figure(
                f"hot_reload_{label}",
                f"hot reload {label} (replace → callback)",
                value=h,
                unit="ms",
                floor=r,
                floor_label=f"raw watchfiles {label}",
                target=Target.value_at_most(limit, "ms", what=label),
                command=f"python -m bench.bench_watch {rounds}",
                also_requires=len(hot) == rounds,
                note=None
                if len(hot) == rounds
                else f"{rounds - len(hot)} of {rounds} replaces never arrived",
            )
        )
    return results


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
