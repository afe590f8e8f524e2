"""One benchmark figure: a measured value beside its floor, and the target it is held to.

Every row of ``bench/results.json`` is made by ``figure()``::

    figure(
        "load_first_5KB", "first load, 5 KB, mutable schema",
        value=52.7, unit="µs", floor=48.1, floor_label="read + validate",
        target=Target.ratio_at_most(1.1), command="python -m bench.bench_load",
    )

``ratio`` is always ``value / floor`` (below 1: hotdata is faster than the floor), and
``pass`` is computed from the target, never typed: True (met), False (missed) or
None (a figure that is reported, with no target).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["TIMES", "Target", "figure", "median", "percentile"]

TIMES = "\N{MULTIPLICATION SIGN}"
Kind = Literal[
    "ratio_at_most", "faster_by", "value_at_most", "value_at_least", "floor_plus", "below_floor", "reported"
]


def number(x: float) -> str:
    """A limit as the issue writes it: 1.0, 1.1, 1.5, 10, 50."""
    return f"{x:.1f}" if x < 10 and round(x * 10) == x * 10 else f"{x:.3g}"


@dataclass(frozen=True)
class Target:
    """What a figure must reach, in the performance issue's terms."""

    kind: Kind
    limit: float = 0.0
    unit: str = ""
    stretch: float | None = None  # a second, harder ratio named beside the target ("aim")
    what: str = ""  # the figure the target speaks of, e.g. "p50"

    @classmethod
    def ratio_at_most(cls, limit: float, *, stretch: float | None = None) -> Target:
        """value / floor <= limit ("≤ 1.1x"); ``stretch`` is shown, not enforced."""
        return cls("ratio_at_most", limit, stretch=stretch)

    @classmethod
    def never_slower(cls, *, aim_faster_by: float | None = None) -> Target:
        """value <= floor; ``aim_faster_by`` (floor / value) is shown, not enforced."""
        return cls("ratio_at_most", 1.0, stretch=1 / aim_faster_by if aim_faster_by else None)

    @classmethod
    def faster_by(cls, factor: float) -> Target:
        """floor / value >= factor ("≥ 10x faster")."""
        return cls("faster_by", factor)

    @classmethod
    def value_at_most(cls, limit: float, unit: str, *, what: str = "") -> Target:
        """The value itself <= limit, whatever the floor ("p50 ≤ 1.0 s")."""
        return cls("value_at_most", limit, unit, what=what)

    @classmethod
    def value_at_least(cls, limit: float, unit: str, *, what: str = "") -> Target:
        """The value itself >= limit ("≥ 0.9 of the catalog", "≥ 10 of 13")."""
        return cls("value_at_least", limit, unit, what=what)

    @classmethod
    def floor_plus(cls, limit: float, unit: str) -> Target:
        """value <= floor + limit ("≤ floor + 15 ms")."""
        return cls("floor_plus", limit, unit)

    @classmethod
    def below_floor(cls) -> Target:
        """value < floor: ahead of the tool the floor measures."""
        return cls("below_floor")

    @classmethod
    def reported(cls) -> Target:
        """No target: the figure is recorded so it can be watched over time."""
        return cls("reported")

    @property
    def text(self) -> str:
        if self.kind == "ratio_at_most":
            if self.limit == 1.0:
                aim = f"; aim ≥ {number(1 / self.stretch)}{TIMES} faster" if self.stretch else ""
                return f"never slower than the floor{aim}"
            stretch = f" (stretch {number(self.stretch)}{TIMES})" if self.stretch else ""
            return f"≤ {number(self.limit)}{TIMES}{stretch}"
        if self.kind == "faster_by":
            return f"≥ {number(self.limit)}{TIMES} faster"
        if self.kind == "value_at_most":
            what = f"{self.what} " if self.what else ""
            return f"{what}≤ {number(self.limit)} {self.unit}"
        if self.kind == "value_at_least":
            what = f"{self.what} " if self.what else ""
            return f"{what}≥ {number(self.limit)} {self.unit}".rstrip()
        if self.kind == "floor_plus":
            return f"≤ floor + {number(self.limit)} {self.unit}"
        if self.kind == "below_floor":
            return "faster than the floor"
        return "reported"

    def met(self, value: float, floor: float | None) -> bool | None:
        if self.kind == "reported":
            return None
        if self.kind == "value_at_most":
            return value <= self.limit
        if self.kind == "value_at_least":
            return value >= self.limit
        if floor is None:
            raise ValueError(f"a {self.kind} target needs a floor")
        if self.kind == "ratio_at_most":
            return value <= self.limit * floor
        if self.kind == "faster_by":
            return floor >= self.limit * value
        if self.kind == "floor_plus":
            return value <= floor + self.limit
        return value < floor  # below_floor


def figure(
    metric: str,
    label: str,
    *,
    value: float,
    unit: str,
    floor: float | None,
    floor_label: str | None,
    target: Target,
    command: str,
    also_requires: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    """A results.json row. ``also_requires`` is a condition besides the target that the
    figure needs to pass (every round measured, no heavy import, the build succeeded);
    ``note`` says why it failed. A reported figure (no target) passes as None, or False
    when ``also_requires`` fails: the measurement itself went wrong."""
    met = target.met(value, floor)
    return {
        "metric": metric,
        "label": label,
        "value": value,
        "unit": unit,
        "floor": floor,
        "floor_label": floor_label,
        "ratio": value / floor if floor else None,
        "target": target.text,
        "pass": (None if also_requires else False) if met is None else met and also_requires,
        "note": note,
        "command": command,
    }


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1) of a handful of samples, no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
