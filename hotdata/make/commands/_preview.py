"""``doit preview NAME [n=K]``: a few runs of one fixture's generator, shown, gated, never kept.

Each sample is the generator run once in its own attempt round from ``PREVIEW_ROUND`` on, so
its seeds never meet a build's (``seed + 1000 * round``); the structure a generator draws
from ``ctx.rng`` is the build's, as it is seeded by the fixture's name. Every sample goes
through validation and the quality gates as a build's first round does, and is shown as a
panel: its fields, each gate's verdict and what it cost. Nothing is written: no data, no
record, no recorded answer (the maker has no answer store), no family state.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from .._candidate import Tally
from .._config import MAX_PREVIEW_SAMPLES, HotDataConfig
from .._errors import ConfigError
from .._fixture_plan import FixturePlan
from .._secrets import redact
from ..generate._answering import Budget
from ..generate._maker import CandidateMaker, Sample, describe_exception
from ..generate._requests import PREVIEW_ROUND, RequestBuilder
from ..models._limits import RateLimits
from ..plan._planner import Planner
from ..quality._settings import QualityProblem

__all__ = ["DEFAULT_SAMPLES", "close_names", "preview", "split_n_option"]

DEFAULT_SAMPLES = 3
_MAX_ROWS = 60  # fields shown per sample; the rest are counted


@dataclass(frozen=True)
class _Shown:
    """One sample as it is shown: its value or why it failed, its gates, and its cost."""

    number: int
    seed: str
    sample: Sample | None
    failure: str | None
    refused_answers: tuple[str, ...]  # answers refused (and asked again) inside the sample
    calls: int
    tokens: int
    seconds: float

    @property
    def passed(self) -> bool:
        return self.sample is not None and not self.sample.problems


def close_names(name: str, names: list[str]) -> list[str]:
    """Fixture names like ``name``: those containing it, then the closest spellings (at most 5)."""
    containing = [n for n in names if name and name in n]
    similar = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return list(dict.fromkeys(containing + similar))[:5]


def split_n_option(args: list[str]) -> tuple[list[str], int]:
    """``args`` without ``--n K`` / ``--n=K``, and K (0 when absent): doit's parser takes a task's
    options only before its positional arguments, and ``doit preview NAME --n 5`` reads naturally."""
    rest: list[str] = []
    found = 0
    words = iter(args)
    for word in words:
        if word == "--n" or word.startswith("--n="):
            value = word[4:] if word.startswith("--n=") else next(words, "")
            if not (value.isdigit() and 1 <= int(value) <= MAX_PREVIEW_SAMPLES):
                raise ConfigError(
                    f"--n {value!r} is not a number of samples: use --n 1 to --n {MAX_PREVIEW_SAMPLES}"
                )
            found = int(value)
        else:
            rest.append(word)
    return rest, found


def preview(
    config: HotDataConfig,
    planner: Planner,
    limits: RateLimits,
    names: list[str],
    samples: int,
) -> bool | TaskFailed:
    """``doit preview``: show ``samples`` runs of the fixture ``names`` holds (exactly one)."""
    if len(names) != 1:
        return TaskFailed(
            "doit preview takes one fixture name: doit preview NAME [n=K] (`doit list` shows them)"
        )
    if not 1 <= samples <= MAX_PREVIEW_SAMPLES:
        return TaskFailed(f"--n {samples} is not a number of samples: use 1 to {MAX_PREVIEW_SAMPLES}")
    name = names[0]
    try:
        catalog = planner.catalog
        if name not in catalog:
            close = close_names(name, [spec.name for spec in catalog])
            hint = f"close names: {', '.join(close)}" if close else "`doit list` shows every fixture"
            return TaskFailed(f"no fixture named {name!r}; {hint}")
        if config.offline:
            return TaskFailed(
                "doit preview asks the model, and model calls are disabled (HOTDATA_OFFLINE=1 or "
                "offline = true); unset it to preview"
            )
        spec = catalog.get(name)
        plan = planner.plan(spec, planner.status(spec), forced=True, replay="off")
    except HotDataError as exc:
        return TaskFailed(str(exc))
    # its own budget and no answer store: nothing is replayed, nothing recorded
    maker = CandidateMaker(config, budget=Budget.of(config), answers=None, limits=limits)
    console = _console()
    console.print(
        f"[bold]preview {name}[/]: {samples} sample(s) from {spec.generator_name} with "
        f"{plan.inputs.model}; nothing is written",
        highlight=False,
        soft_wrap=True,
    )
    if not isinstance(plan.inputs.options.get("seed"), int):
        console.print(
            "note: its model options set no seed, so samples differ only as far as the model samples "
            "at random; model_options = { seed = 1 } gives each sample a seed of its own",
            highlight=False,
            soft_wrap=True,
            style="yellow",
        )
    shown: list[_Shown] = []
    try:
        for number in range(1, samples + 1):
            one = _take(maker, plan, number)
            shown.append(one)
            console.print(_panel(one, samples, plan))
    finally:
        maker.close()
    refused = [s for s in shown if not s.passed]
    calls, tokens = sum(s.calls for s in shown), sum(s.tokens for s in shown)
    console.print(
        f"doit preview: {len(shown) - len(refused)} of {len(shown)} sample(s) passed every gate; "
        f"{calls} model call(s), {tokens} tokens; nothing was written",
        highlight=False,
        soft_wrap=True,
    )
    if refused:
        return TaskFailed(
            f"{len(refused)} of {len(shown)} sample(s) of {name} refused or failed (see above); "
            f"a build runs up to {plan.inputs.attempts} round(s) before it fails"
        )
    return True


def _take(maker: CandidateMaker, plan: FixturePlan, number: int) -> _Shown:
    round_ = PREVIEW_ROUND + number - 1
    options = RequestBuilder(plan.inputs).options(round_, 1)
    seed = f"seed {options['seed']}" if isinstance(options.get("seed"), int) else f"round {round_}"
    tally = Tally()
    started = time.monotonic()
    sample: Sample | None = None
    failure: str | None = None
    try:
        sample = maker.sample(plan, round_, tally)
    except HotDataError as exc:
        failure = str(exc)
    except Exception as exc:  # a bug or an environment fault: this sample fails, the next still runs
        failure = f"fixture {plan.name}: {describe_exception(exc, 'the sample')}"
    secrets = list(plan.inputs.secrets)
    usage = tally.usage
    return _Shown(
        number=number,
        seed=seed,
        sample=sample,
        failure=None if failure is None else redact(failure, secrets),
        refused_answers=tuple(redact("; ".join(f.reasons), secrets) for f in tally.failed),
        calls=usage.calls,
        tokens=(usage.input_tokens or 0) + (usage.output_tokens or 0),
        seconds=time.monotonic() - started,
    )


def _console() -> Any:
    from rich.console import Console  # imported when a preview runs, never by other commands

    return Console(soft_wrap=False)


def _leaves(value: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """``(JSON pointer, leaf)`` of every scalar, empty array and empty object of ``value``."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{pointer}/{key}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, f"{pointer}/{index}")
    else:
        yield pointer or "/", value


def _fields(value: Any, secrets: list[str]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    leaves = list(_leaves(value))
    for pointer, leaf in leaves[:_MAX_ROWS]:
        text = leaf if isinstance(leaf, str) else json.dumps(leaf, ensure_ascii=False)
        table.add_row(redact(pointer, secrets), Text(redact(text, secrets)))
    if len(leaves) > _MAX_ROWS:
        table.add_row("…", Text(f"{len(leaves) - _MAX_ROWS} more field(s)", style="dim"))
    return table


def _gate_lines(problems: tuple[QualityProblem, ...], plan: FixturePlan) -> list[str]:
    quality = plan.inputs.quality
    if not quality.enabled:
        return ["gates: off for this fixture (quality enabled = false)"]
    checks = list(quality.checks) + sorted({p.check for p in problems} - set(quality.checks))
    refused = {p.check for p in problems}
    passed = [c for c in checks if c not in refused]
    lines = []
    if problems:
        lines.append(f"✗ refused by {', '.join(sorted(refused))}:")
        lines += [f"    {p.message} [{p.check}]" for p in problems]
    if passed:
        lines.append(f"✓ passed {', '.join(passed)}")
    return lines


def _panel(one: _Shown, samples: int, plan: FixturePlan) -> Any:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    secrets = list(plan.inputs.secrets)
    parts: list[Any] = []
    if one.sample is not None:
        parts.append(_fields(one.sample.value, secrets))
        parts.append(Text(""))
        for line in _gate_lines(one.sample.problems, plan):
            parts.append(Text(redact(line, secrets), style="red" if line.startswith(("✗", " ")) else "green"))
    else:
        parts.append(Text(f"✗ failed: {one.failure}", style="red"))
    if one.refused_answers:
        first = one.refused_answers[0]
        parts.append(
            Text(
                f"{len(one.refused_answers)} answer(s) refused on the way; first: {first}",
                style="yellow",
            )
        )
    verdict = "passed" if one.passed else ("refused" if one.sample is not None else "failed")
    return Panel(
        Group(*parts),
        title=f"sample {one.number} of {samples} · {one.seed} · {verdict}",
        title_align="left",
        subtitle=f"{one.calls} call(s), {one.tokens} tokens, {one.seconds:.1f}s",
        subtitle_align="right",
        border_style="green" if one.passed else "red",
    )
