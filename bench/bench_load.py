"""Runtime load: HotData.load() against Model.model_validate_json(path.read_bytes()).

Run: python -m bench.bench_load
Prints medians (µs per call) over repeated batches, and the ratios the targets use:
first load <= 1.2x the floor, cached load >= 5x faster than the floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from hotdata import HotData
from hotdata.testing import write_fixture


class Connection(BaseModel):
    target: str
    strength: float = Field(ge=0, le=1)
    kind: Literal["ally", "rival", "mentor"]


class FrozenConnection(BaseModel, frozen=True):
    target: str
    strength: float = Field(ge=0, le=1)
    kind: Literal["ally", "rival", "mentor"]


class FrozenSnapshot(BaseModel, frozen=True):
    """The same shape, deeply immutable: hotdata shares it between callers without copying."""

    id: str
    name: str
    phase: str
    summary: str
    thoughts: tuple[str, ...]
    connections: tuple[FrozenConnection, ...]


class Snapshot(BaseModel):
    id: str
    name: str
    phase: str
    summary: str
    thoughts: list[str]
    connections: list[Connection]
    metrics: dict[str, float]


def make(size: int) -> Snapshot:
    n = max(1, size // 400)
    return Snapshot(
        id="agent-1",
        name="Ada",
        phase="deliberating",
        summary="Weighs the garden's divergence against the cost of another cycle. " * (n * 2),
        thoughts=[f"Thought {i}: the polynomial state drifts toward convergence." for i in range(n * 3)],
        connections=[
            Connection(target=f"agent-{i}", strength=(i % 10) / 10, kind="ally") for i in range(n * 2)
        ],
        metrics={f"m{i}": i * 0.5 for i in range(n * 2)},
    )


def median_us(fn: Any, number: int, repeat: int = 15) -> float:
    return statistics.median(t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=repeat))


def import_ms(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print((time.perf_counter()-t)*1000)"
    runs = [
        float(subprocess.check_output([sys.executable, "-X", "frozen_modules=on", "-c", code]))
        for _ in range(9)
    ]
    return statistics.median(runs)


def run() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in (("5KB", 5_000), ("100KB", 100_000)):
            fx = HotData(Path(tmp) / f"snap_{label}.json", Snapshot)
            write_fixture(fx, make(size))
            path = fx.path
            number = 2000 if size < 50_000 else 100

            def floor(path: Path = path) -> Snapshot:
                return Snapshot.model_validate_json(path.read_bytes())

            miss = HotData(path, Snapshot)
            miss.load()

            def first(path: Path = path, miss: HotData[Snapshot] = miss) -> Snapshot:
                miss._cache_key = None  # what a changed file does: the next load misses the cache
                return miss.load()

            shared = HotData(path, Snapshot, copy="never")
            shared.load()
            fx.load()
            floor_us = median_us(floor, number)
            first_us = median_us(first, number)
            cached_us = median_us(fx.load, number)
            shared_us = median_us(shared.load, number)
            actual = path.stat().st_size
            print(f"{label} ({actual} bytes): floor read+validate {floor_us:.1f} µs")
            print(
                f"  first load   {first_us:.1f} µs  ratio {first_us / floor_us:.2f}x floor (target <= 1.2x)"
            )
            print(f"  cached load  {cached_us:.1f} µs  {floor_us / cached_us:.1f}x faster (target >= 5x)")
            print(f"  cached load, copy='never'  {shared_us:.2f} µs  {floor_us / shared_us:.1f}x faster")
            results += [
                {
                    "metric": f"load_first_{label}",
                    "value": first_us,
                    "floor": floor_us,
                    "ratio": first_us / floor_us,
                    "target": "<= 1.2",
                    "pass": first_us / floor_us <= 1.2,
                },
                {
                    "metric": f"load_cached_{label}",
                    "value": cached_us,
                    "floor": floor_us,
                    "ratio": floor_us / cached_us,
                    "target": ">= 5 (speed-up)",
                    "pass": floor_us / cached_us >= 5,
                },
                {
                    "metric": f"load_cached_nocopy_{label}",
                    "value": shared_us,
                    "floor": floor_us,
                    "ratio": floor_us / shared_us,
                    "target": ">= 5 (speed-up)",
                    "pass": floor_us / shared_us >= 5,
                },
            ]
        frozen = HotData(Path(tmp) / "frozen_5KB.json", FrozenSnapshot)
        write_fixture(frozen, FrozenSnapshot.model_validate(make(5_000).model_dump(exclude={"metrics"})))
        fpath = frozen.path
        ffloor = median_us(lambda: FrozenSnapshot.model_validate_json(fpath.read_bytes()), 2000)
        frozen.load()
        fcached = median_us(frozen.load, 2000)
        print(
            f"5KB frozen schema: floor {ffloor:.1f} µs, cached load {fcached:.2f} µs, "
            f"{ffloor / fcached:.1f}x faster (target >= 5x)"
        )
        results.append(
            {
                "metric": "load_cached_frozen_5KB",
                "value": fcached,
                "floor": ffloor,
                "ratio": ffloor / fcached,
                "target": ">= 5 (speed-up)",
                "pass": ffloor / fcached >= 5,
            }
        )
    pyd = import_ms("pydantic")
    hot = import_ms("hotdata")
    print(f"import pydantic {pyd:.1f} ms, import hotdata {hot:.1f} ms (target <= pydantic + 15 ms)")
    results.append(
        {
            "metric": "import_hotdata_ms",
            "value": hot,
            "floor": pyd,
            "ratio": hot / pyd,
            "target": "<= floor + 15 ms",
            "pass": hot <= pyd + 15,
        }
    )
    return results


if __name__ == "__main__":
    run()
