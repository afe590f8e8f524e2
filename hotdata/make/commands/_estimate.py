"""What a build run would do and cost, before any call: ``doit fixtures dry=1``, the footer of
``doit status``, and the ``max_cost`` budget.

For every fixture the run would rebuild (the planner's state and reason, as ``doit fixtures``
decides them), the generator runs once in memory with ``replay = only`` (as ``doit doctor``
does: nothing is written, no model is asked) to learn whether the answer store holds every
answer it needs, which makes the rebuild free. The others take the calls and tokens of the
fixture's own record; else the median of its family's records (the fixtures of the same
generator); else a stated default. Prices come from ``models.price_of`` (unknown is said, never
counted as 0); time from the calls at a stated number of seconds per call (records keep no
durations), at the configured concurrency.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ..._errors import HotDataError
from ..._freshness import FixtureStatus
from ..._provenance import Provenance, read_provenance
from .._candidate import Tally
from .._config import DEFAULT_MODEL, HotDataConfig, ReplayMode
from .._spec import FixtureSpec
from ..answers._store import AnswerStore
from ..generate._answering import Budget, ReplayMiss
from ..generate._maker import CandidateMaker
from ..models import Price, format_usd, price_of
from ..models._limits import RateLimits
from ..plan._planner import SCHEMA_KEPT, Planner

__all__ = [
    "DEFAULT_USAGE",
    "SECONDS_PER_CALL",
    "FixtureEstimate",
    "RunEstimate",
    "cost_refusal",
    "estimate_run",
    "limit_text",
    "replay_checker",
]

# A fixture with no record and no family: one call of this many tokens (stated as a default).
DEFAULT_USAGE = (1, 500, 500)  # calls, input tokens, output tokens
# Records keep no durations. A provider's call: a stated 3 s. The embedded model's time grows with
# what it writes (0.5 s a short catalog call, 4.5 s a first-project one): its output tokens at the
# rate bench_embedded measured on a quiet 2-core machine (29.7 tokens a second), plus a fixed
# cost a call for the prompt, one request at a time.
SECONDS_PER_CALL = {"local": 0.25, "remote": 3.0}
LOCAL_OUTPUT_TOKENS_PER_S = 30.0
_KIND = {
    "local": f"and {LOCAL_OUTPUT_TOKENS_PER_S:g} output tokens a second on the local model, one at a time",
    "remote": "a call to a provider's model",
}
# What a provider's batch takes at most (OpenAI: within 24 hours, usually much sooner).
_BATCH_WINDOW = "within 24 h"

# keep: the data is kept (new fields filled from the schema's defaults) and the record updated, no call
Action = Literal["rebuild", "replay", "keep", "fails"]


@dataclass(frozen=True)
class FixtureEstimate:
    """One fixture the run would rebuild: how, why, and what it would take."""

    name: str
    reason: str  # the planner's reason in words
    action: Action  # rebuild (asks the model), replay (recorded answers, free), keep, fails (before any call)
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    basis: str  # where the figures come from: "its record", "family median of 3", "default ..."
    price: Price
    batch_price: Price  # in batch mode: half where the provider's batch is half price
    seconds: float
    note: str = ""  # why it fails, for action "fails"

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "model": self.model,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "basis": self.basis,
            "cost_usd": None if self.price.usd is None else float(self.price.usd),
            "batch_cost_usd": None if self.batch_price.usd is None else float(self.batch_price.usd),
            "price": self.price.describe(),
            "seconds": round(self.seconds, 1),
            "note": self.note or None,
        }


@dataclass(frozen=True)
class RunEstimate:
    """Every fixture a run would rebuild, and the totals."""

    fixtures: tuple[FixtureEstimate, ...]
    up_to_date: int
    edited_kept: int
    concurrency: int
    batch: bool  # the run is in batch mode
    batchable: frozenset[str] = field(default_factory=frozenset)  # models a provider batch can take

    @property
    def calling(self) -> list[FixtureEstimate]:
        return [f for f in self.fixtures if f.action == "rebuild"]

    @property
    def calls(self) -> int:
        return sum(f.calls for f in self.calling)

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.calling)

    def cost(self, *, batch: bool | None = None) -> tuple[Decimal, dict[str, int]]:
        """The known part of the cost, and the calls of each model whose price is unknown."""
        batch = self.batch if batch is None else batch
        known, unknown = Decimal(0), dict[str, int]()
        for f in self.calling:
            price = f.batch_price if batch else f.price
            if price.usd is None:
                unknown[f.model] = unknown.get(f.model, 0) + f.calls
            else:
                known += price.usd
        return known, unknown

    def describe_cost(self, *, batch: bool | None = None) -> str:
        known, unknown = self.cost(batch=batch)
        if not unknown:
            local = all(f.price.free for f in self.calling) and self.calling
            return "free (local model)" if local else format_usd(known)
        missing = ", ".join(f"{m} ({n} call(s))" for m, n in sorted(unknown.items()))
        part = f"{format_usd(known)} + " if known else ""
        return f"{part}unknown (no price for {missing})"

    @property
    def seconds(self) -> float:
        """Wall time: fixtures run ``concurrency`` at once; the embedded model answers one at a time."""
        local = sum(f.seconds for f in self.calling if f.model == DEFAULT_MODEL)
        remote = [f.seconds for f in self.calling if f.model != DEFAULT_MODEL]
        spread = max([sum(remote) / self.concurrency, *remote], default=0.0)
        return local + spread

    def summary(self) -> str:
        """The totals in one line."""
        if not self.fixtures:
            return f"nothing to rebuild ({self.up_to_date} up to date); 0 model calls"
        replays = sum(f.action == "replay" for f in self.fixtures)
        fails = sum(f.action == "fails" for f in self.fixtures)
        keeps = sum(f.action == "keep" for f in self.fixtures)
        # of the stale fixtures, those that ask a model and those whose answers are all recorded
        parts = [
            f"{len(self.fixtures)} stale: {len(self.fixtures) - replays - fails - keeps} to ask",
            f"{replays} replay for free",
        ]
        if keeps:
            parts.append(f"{keeps} record(s) updated, data kept")
        if fails:
            parts.append(f"{fails} fail before any call")
        parts.append(f"{self.up_to_date} up to date")
        if self.edited_kept:
            parts.append(f"{self.edited_kept} edited and kept")
        return (
            ", ".join(parts)
            + f"; {self.calls} model call(s), {self.tokens:,} tokens, cost {self.describe_cost(batch=False)}, "
            + f"about {_duration(self.seconds)} at concurrency {self.concurrency}"
        )

    def batch_line(self) -> str | None:
        """What batch mode would cost, when some calls could go into a provider batch."""
        batched = [f for f in self.calling if f.model in self.batchable]
        if not batched:
            return None
        halved = any(f.batch_price.usd != f.price.usd for f in batched)
        how = (
            "half price: the provider's batch is half price"
            if halved
            else "the provider's batch price is not known to be lower"
        )
        others = len(self.calling) - len(batched)
        sync = f"; {others} fixture(s) of other models asked at once" if others else ""
        return (
            f"in batch mode (batch=1): cost {self.describe_cost(batch=True)} ({how}), "
            f"answers {_BATCH_WINDOW}{sync}"
        )

    def lines(self) -> list[str]:
        """``doit fixtures dry=1``: one line per fixture to rebuild, then the totals."""
        rows = [
            (
                f.name,
                f.action,
                f"{f.calls} call(s)",
                f"{f.tokens:,} tok",
                {"replay": "free", "keep": "free", "fails": "-"}.get(f.action) or f.price.describe(),
                "-" if f.action != "rebuild" else _duration(f.seconds),
                f"{f.reason} [{f.note or f.basis}]",
            )
            for f in self.fixtures
        ]
        widths = [max([len(r[i]) for r in rows], default=0) for i in range(6)]
        out = []
        for row in rows:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            cells += [row[i].rjust(widths[i]) for i in (2, 3)] + [
                row[4].ljust(widths[4]),
                row[5].rjust(widths[5]),
            ]
            out.append("  " + "  ".join(cells) + "  " + row[6])
        out.append(f"total: {self.summary()}")
        kinds = {"local" if f.model == DEFAULT_MODEL else "remote" for f in self.calling}
        if kinds:
            spc = "; ".join(
                f"{SECONDS_PER_CALL[k]:g}s a call {_KIND[k]}"
                if k == "local"
                else f"{SECONDS_PER_CALL[k]:g}s {_KIND[k]}"
                for k in sorted(kinds)
            )
            out.append(f"time: {spc} (records keep no durations; slower on a loaded machine)")
        batch = self.batch_line()
        if batch is not None:
            out.append(batch)
        return out


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def _median(values: Iterable[int]) -> int:
    return round(statistics.median(values))


class _Usages:
    """The calls and tokens a fixture is expected to take: its record's, its family's, a default."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self._families: dict[str, list[Provenance]] = {}

    def _family(self, spec: FixtureSpec) -> list[Provenance]:
        generator = spec.generator_name
        found = self._families.get(generator)
        if found is None:
            found = []
            for other in self.planner.catalog:
                if other.generator_name != generator:
                    continue
                try:
                    record = read_provenance(self.planner.paths(other)[1])
                except HotDataError:
                    continue  # a broken record says nothing of what the family takes
                if record is not None:
                    found.append(record)
            self._families[generator] = found
        return found

    def of(self, spec: FixtureSpec, status: FixtureStatus) -> tuple[int, int, int, str]:
        record = status.record
        if record is None and status.meta_path.exists():
            try:
                record = read_provenance(status.meta_path)
            except HotDataError:
                record = None
        if record is not None:
            u = record.usage
            return u.calls, u.input_tokens or 0, u.output_tokens or 0, "its record"
        family = self._family(spec)
        if family:
            return (
                _median(r.usage.calls for r in family),
                _median(r.usage.input_tokens or 0 for r in family),
                _median(r.usage.output_tokens or 0 for r in family),
                f"family median of {len(family)} ({spec.generator_name})",
            )
        calls, inp, out = DEFAULT_USAGE
        return calls, inp, out, f"default: {calls} call, {inp + out} tokens"


def replay_checker(config: HotDataConfig, answers: AnswerStore, limits: RateLimits) -> CandidateMaker:
    """A maker that can only replay: under an offline budget, no call could go out even by mistake."""
    return CandidateMaker(config, budget=Budget(offline=True), answers=answers, limits=limits)


def estimate_run(
    planner: Planner,
    maker: CandidateMaker,
    names: Iterable[str],
    *,
    config: HotDataConfig,
    force: bool,
    replay: ReplayMode,
    batch: bool,
    statuses: Mapping[str, FixtureStatus] | None = None,
) -> RunEstimate:
    """The estimate of a ``doit fixtures`` run over ``names``; ``maker`` only replays (its budget
    is offline). ``statuses``: the ones the caller already found (``doit status``)."""
    usages = _Usages(planner)
    fixtures, up_to_date, edited = [], 0, 0
    try:
        for name in names:
            spec = planner.catalog.get(name)
            status = (statuses or {}).get(name) or planner.status(spec)
            if not force and not status.needs_build:
                edited += status.check == "edited"
                up_to_date += status.check != "edited"
                continue
            fixtures.append(_one(planner, maker, usages, spec, status, force=force, replay=replay))
    finally:
        maker.close()
    models = {f.model for f in fixtures if f.action == "rebuild" and f.model != DEFAULT_MODEL}
    batchable = frozenset(m for m in models if _batchable(m, config))
    fixtures = [f if f.model in batchable else dataclasses.replace(f, batch_price=f.price) for f in fixtures]
    return RunEstimate(tuple(fixtures), up_to_date, edited, config.concurrency, batch, batchable)


def _batchable(model: str, config: HotDataConfig) -> bool:
    from ..batch._api import batchable_model  # here: it loads llm's OpenAI plugin

    return batchable_model(model, config.llm_plugins) is not None


def _one(
    planner: Planner,
    maker: CandidateMaker,
    usages: _Usages,
    spec: FixtureSpec,
    status: FixtureStatus,
    *,
    force: bool,
    replay: ReplayMode,
) -> FixtureEstimate:
    plan = planner.plan(spec, status, forced=force, replay=replay)
    model = plan.inputs.model
    calls, inp, out, basis = usages.of(spec, status)
    action: Action = "rebuild"
    note = ""
    if (
        status.check == SCHEMA_KEPT and not force
    ):  # the schema change asks nothing: only the record is rewritten
        action, basis = "keep", "no call: the record is updated"
    elif plan.replay != "off":
        try:
            maker.make(dataclasses.replace(plan, replay="only"), Tally())
            action, basis = "replay", "recorded answers"
        except ReplayMiss as exc:
            if plan.replay == "only":
                action, note = "fails", f"replay=only and an answer is not recorded: {exc}"
        except HotDataError as exc:
            action, note = "fails", str(exc)
    if action != "rebuild":
        calls = inp = out = 0
    elif plan.ask is not None and not force:  # its answer replayed; one call a new field
        asks = len(plan.ask.pointers)
        inp, out = inp * asks // max(1, calls), out * asks // max(1, calls)
        calls, basis = asks, f"one call a new field ({basis}: tokens a call)"
    price = price_of(model, calls, inp, out)
    kind = "local" if model == DEFAULT_MODEL else "remote"
    return FixtureEstimate(
        name=spec.name,
        reason=plan.reason,
        action=action,
        model=model,
        calls=calls,
        input_tokens=inp,
        output_tokens=out,
        basis=basis,
        price=price,
        batch_price=price.halved(),
        seconds=calls * SECONDS_PER_CALL[kind] + (out / LOCAL_OUTPUT_TOKENS_PER_S if kind == "local" else 0),
        note=note,
    )


def limit_text(max_cost: float) -> str:
    """``max_cost`` as written: 0.00002, not 2e-05."""
    return format(Decimal(repr(max_cost)), "f")


def cost_refusal(estimate: RunEstimate, max_cost: float | None, where: str) -> str | None:
    """Why a run over ``max_cost`` (by its estimate) must not start; None when it may.

    An unknown price cannot be held to a budget: such a run is refused too, saying so."""
    if max_cost is None:
        return None
    known, unknown = estimate.cost()
    mode = " in batch mode" if estimate.batch else ""
    shown = limit_text(max_cost)
    if unknown:
        missing = ", ".join(f"{m} ({n} call(s))" for m, n in sorted(unknown.items()))
        return (
            f"max_cost = {shown} ({where}): no price is known for model {missing}, so the run "
            "cannot be held to it; nothing was asked. Remove max_cost for this model or choose one "
            "the price table knows (`doit fixtures dry=1` shows the estimate)"
        )
    if known > Decimal(str(max_cost)):
        return (
            f"max_cost = {shown} ({where}): this run's estimate{mode} is {format_usd(known)} "
            f"({estimate.calls} call(s), {estimate.tokens:,} tokens); nothing was asked. Raise max_cost, "
            "select fewer fixtures or try batch=1 (`doit fixtures dry=1` shows each fixture)"
        )
    return None
