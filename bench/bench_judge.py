"""The embedded model as a judge: its yes/no verdicts against a labelled set, beside chance.

    python -m bench.bench_judge                  # print the rows (minutes: one call per item)
    python -m bench.bench_judge --record         # and merge them into bench/results.json
    python -m bench.bench_judge --model M        # another judge model (any `llm` model id)

tests/data/judge_labelled.json holds whole fixtures from nine domains the catalog does not
hold, each with a yes/no question and the answer a careful reader gives, labelled by reading.
Items come in pairs (the same question on a right and a wrong fixture), so a judge that
always says the same thing scores the chance floor: the majority class, measured on the set.
Each item is asked once, the way the judge gate asks (``judge_prompt``, the JSON schema,
greedy decoding); an answer that holds no verdict counts as wrong.

Reported: accuracy, precision and recall of "no" (a "no" is a refusal: precision is how
often a refusal is deserved, recall how many bad fixtures are caught), the chance floor, and
whether accuracy beats chance by a one-sided binomial test at 5 % (the accuracy needed is
printed). A judge that does not is off by default (see the README, "The judge gate").
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.figure import Target, figure
from hotdata.make.generate import JUDGE_SCHEMA, JUDGE_SYSTEM, judge_prompt, parse_verdict
from hotdata.make.models import ModelRequest, open_model

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "judge_labelled.json"
COMMAND = "python -m bench.bench_judge"
DEFAULT_JUDGE = "hotdata-local"


def items() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(LABELLED.read_text(encoding="utf-8"))["items"]
    return rows


def needed_for_chance(n: int, p: float = 0.5, alpha: float = 0.05) -> int:
    """The fewest right answers out of ``n`` that a coin of bias ``p`` reaches with probability
    below ``alpha`` (one-sided binomial test)."""
    for k in range(n + 1):
        tail = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        if tail < alpha:
            return k
    return n + 1


async def judge_all(model: str, rows: list[dict[str, Any]]) -> list[str | None]:
    """The judge's answer to each item ("yes", "no", or None: no verdict)."""
    client = open_model(model)
    takes_schema = client.capabilities.supports_schema
    accepted = client.capabilities.option_names
    options = {"temperature": 0.0} if accepted is None or "temperature" in accepted else {}
    answers: list[str | None] = []
    for i, row in enumerate(rows):
        name = f"bench/{row['domain'].replace(' ', '_')}_{i}"
        request = ModelRequest(
            model=model,
            prompt=judge_prompt(name, row["fixture"], row["question"], supports_schema=takes_schema),
            fixture=name,
            json_schema=JUDGE_SCHEMA,
            system=JUDGE_SYSTEM,
            options=options,
        )
        reply = await client.complete(request)
        verdict = parse_verdict(reply.text, row["question"], model)
        answers.append(None if verdict is None else verdict.answer)
        mark = "ok " if answers[-1] == row["expected"] else "BAD"
        print(
            f"{mark} {row['expected']:>3} <- {answers[-1]}: {row['question']} ({row['why']})", file=sys.stderr
        )
    return answers


def scores(rows: list[dict[str, Any]], answers: list[str | None]) -> dict[str, Any]:
    expected = [r["expected"] for r in rows]
    n = len(rows)
    right = sum(a == e for a, e in zip(answers, expected, strict=True))
    said_no = sum(a == "no" for a in answers)
    caught = sum(a == "no" and e == "no" for a, e in zip(answers, expected, strict=True))
    bad = expected.count("no")
    majority = max(expected.count("yes"), bad)
    return {
        "n": n,
        "right": right,
        "accuracy": right / n,
        "no_precision": caught / said_no if said_no else 0.0,
        "no_recall": caught / bad if bad else 1.0,
        "chance": majority / n,
        "needed": needed_for_chance(n, majority / n),
        "no_verdict": sum(a is None for a in answers),
        "said_no": said_no,
    }


def run(model: str = DEFAULT_JUDGE) -> list[dict[str, Any]]:
    rows = items()
    started = time.monotonic()
    answers = asyncio.run(judge_all(model, rows))
    seconds = time.monotonic() - started
    s = scores(rows, answers)
    beats = s["right"] >= s["needed"]
    note = (
        f"{s['right']}/{s['n']} right, {s['said_no']} said no, {s['no_verdict']} gave no verdict; beating chance "
        f"(p < 0.05) needs {s['needed']}/{s['n']}: {'met' if beats else 'NOT met'}; {seconds / s['n']:.1f} s per item"
    )
    tag = "" if model == DEFAULT_JUDGE else f"_{model.replace(':', '_').replace('/', '_')}"
    what = f"{model} as judge"
    return [
        figure(
            f"judge{tag}_accuracy",
            f"{what}: accuracy on {s['n']} labelled fixtures (9 domains)",
            value=s["accuracy"],
            unit="share",
            floor=s["chance"],
            floor_label="chance: the majority class, on the same set",
            target=Target.value_at_least(s["needed"] / s["n"], "", what="beats chance, p < 0.05"),
            command=COMMAND,
            note=note,
        ),
        figure(
            f"judge{tag}_no_precision",
            f'{what}: precision of "no" (refusals that were deserved)',
            value=s["no_precision"],
            unit="share",
            floor=None,
            floor_label=None,
            target=Target.reported(),
            command=COMMAND,
            note=note,
        ),
        figure(
            f"judge{tag}_no_recall",
            f'{what}: recall of "no" (bad fixtures caught)',
            value=s["no_recall"],
            unit="share",
            floor=None,
            floor_label=None,
            target=Target.reported(),
            command=COMMAND,
            note=note,
        ),
    ]


def main(argv: list[str]) -> int:
    model = argv[argv.index("--model") + 1] if "--model" in argv else DEFAULT_JUDGE
    load_before = os.getloadavg()[0]
    rows = run(model)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    if "--record" in argv:
        from bench.__main__ import record

        record(rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
