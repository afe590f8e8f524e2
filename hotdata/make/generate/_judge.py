"""The judge gate: a judge model answers yes/no questions about the whole fixture.

It runs after the generator's value validates and passes the quality gates. Each question
(``[tool.hotdata.judge] questions``, then the fixture's ``judge=``) is asked once with the
fixture's JSON, under a JSON schema (the embedded model decodes under a grammar made from it;
a provider gets the schema)::

    {"answer": "yes" | "no", "field": "<JSON pointer or empty>", "reason": "<one sentence>"}

The requests go through an ``AnswerSource`` of the fixture, so verdicts are recorded in the
answer store and replayed (no model call on a rebuild or ``doit verify``). A "no" is a refusal
(``Verdict.refusal``): the generator runs again, as for any gate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..._provenance import Verdict
from .._candidate import Tally
from .._errors import GenerationError
from .._fixture_plan import FixturePlan
from .._secrets import redact
from ..models._seam import ModelRequest
from ._answering import AnswerSource
from ._json_answers import extract_json

__all__ = ["JUDGE_SCHEMA", "JUDGE_SYSTEM", "Judge", "judge_prompt", "parse_verdict", "refusal"]

JUDGE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["yes", "no"]},
        "field": {"type": "string", "maxLength": 120},
        "reason": {"type": "string", "maxLength": 300},
    },
    "required": ["answer", "field", "reason"],
    "additionalProperties": False,
}
JUDGE_SYSTEM = "You check test data. You answer one yes/no question about a JSON document, honestly."
_HOW = (
    'Answer "yes" or "no". When the answer is "no", put in "field" the JSON pointer of the part '
    'that is wrong (such as /reviews/2/text), or "" when it is the whole document; say why in '
    '"reason", in one sentence.'
)


def judge_prompt(fixture: str, data: Any, question: str, *, supports_schema: bool) -> str:
    """What the judge is asked: the fixture's JSON, the question, and how to answer (the schema
    in words for a model that does not take it)."""
    shown = json.dumps(data, indent=1, ensure_ascii=False)
    prompt = f"The test fixture {fixture!r}:\n{shown}\n\nQuestion: {question}\n\n{_HOW}"
    if not supports_schema:
        prompt += f"\n\nAnswer with one JSON object matching this JSON Schema:\n{json.dumps(JUDGE_SCHEMA)}"
    return prompt


def refusal(verdict: Verdict) -> str:
    """A "no" as a refusal reason: the question, the judge's reason and the field it blames."""
    field = f" (field {verdict.field})" if verdict.field else ""
    reason = verdict.reason or "no reason given"
    return f"judge: {verdict.question} — no: {reason}{field}"


class Judge:
    """Asks the judge model a fixture's questions about one value (``verdicts``).

    Args:
        plan: the fixture's plan (its questions and judge model are in its inputs).
        source: where the judge's answers come from (the fixture's answer store and budget).
        tally: the fixture's tally (what the judge asks and costs goes into its record).
    """

    def __init__(self, plan: FixturePlan, source: AnswerSource, tally: Tally) -> None:
        self.plan = plan
        self.source = source
        self.tally = tally
        self.model = plan.inputs.judge_model or plan.inputs.model
        self.questions = plan.inputs.judge

    async def verdicts(self, data: Any, round_: int) -> list[Verdict]:
        """One verdict per question about ``data`` (the fixture's value as JSON data)."""
        shown = json.dumps(data, indent=1, ensure_ascii=False)
        return [await self._verdict(question, shown, round_) for question in self.questions]

    async def _verdict(self, question: str, shown: str, round_: int) -> Verdict:
        prompt = f"The test fixture {self.plan.name!r}:\n{shown}\n\nQuestion: {question}\n\n{_HOW}"
        if not self.source.capabilities.supports_schema:
            prompt += (
                f"\n\nAnswer with one JSON object matching this JSON Schema:\n{json.dumps(JUDGE_SCHEMA)}"
            )
        attempts = self.plan.inputs.attempts
        last = ""
        for attempt in range(1, attempts + 1):
            request = ModelRequest(
                model=self.model,
                prompt=prompt,
                fixture=self.plan.name,
                json_schema=JUDGE_SCHEMA,
                system=JUDGE_SYSTEM,
                options=self._options(attempt),
                attempt=attempt,
            )
            self.tally.attempts += 1
            reply = (await self.source.answer(request, round_)).reply
            self.tally.counted(reply)
            verdict = parse_verdict(reply.text, question, self.model)
            if verdict is not None:  # the record holds no secret, not even one a judge repeats
                secrets = list(self.plan.inputs.secrets)
                return verdict.model_copy(update={"reason": redact(verdict.reason, secrets)})
            last = reply.text.strip().replace("\n", " ")[:80]
            self.tally.refused([f"judge: {question} — not a verdict: {last!r}"])
        raise GenerationError(
            f"fixture {self.plan.name}: the judge model {self.model} gave no verdict on {question!r} "
            f"in {attempts} attempt(s) (last answer {last!r}); choose a judge model that follows a JSON "
            'schema ([tool.hotdata.judge] model = "...")'
        )

    def _options(self, attempt: int) -> dict[str, Any]:
        """The fixture's options when it is judged by its own model (keys, endpoints), then greedy
        decoding; a re-ask (the first answer held no verdict) samples, with a seed if taken."""
        inputs = self.plan.inputs
        base = dict(inputs.options) if self.model == inputs.model else {}
        accepted = self.source.capabilities.option_names
        wanted: dict[str, Any] = (
            {"temperature": 0.0} if attempt == 1 else {"temperature": 0.7, "seed": attempt}
        )
        return {**base, **{k: v for k, v in wanted.items() if accepted is None or k in accepted}}


def parse_verdict(text: str, question: str, model: str) -> Verdict | None:
    """The verdict in a judge's answer; None when it holds none."""
    try:
        raw = json.loads(extract_json(text))
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    answer = str(raw.get("answer", "")).strip().lower()
    if answer not in ("yes", "no"):
        return None
    field = raw.get("field")
    reason = raw.get("reason")
    return Verdict(
        question=question,
        answer="yes" if answer == "yes" else "no",
        field=field.strip() if isinstance(field, str) else "",
        reason=" ".join(reason.split()) if isinstance(reason, str) else "",
        model=model,
    )
