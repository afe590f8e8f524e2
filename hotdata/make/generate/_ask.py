"""Asking a model for one value: attempts, validation, quality gates and what changes on a re-ask.

An answer is accepted only when it parses, validates against the schema, holds
nothing JSON cannot (NaN, infinity) and passes the quality gates. Otherwise the
model is asked again, and the next attempt changes something:

* a model that copies feedback into its answers (``copies_feedback``, such as the
  small embedded model) is resampled with another seed instead of being shown
  the errors; any other model is shown what was wrong;
* an answer cut off at the token limit is named as such (``the model stopped at
  its token limit in /data/0/embedding``) and the next attempt asks for less:
  arrays capped tighter and, where the model takes it, more tokens.

Every refused attempt is kept with its reasons, for the provenance record and
the build summary.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ..._provenance import Repair
from ..._schema import SchemaAdapter, canonical_json
from .._candidate import Tally
from .._errors import GenerationError
from .._field_change import without
from .._field_mend import failing_fields
from .._fixture_plan import FixturePlan
from ..answers._store import StoredAnswer
from ..models._seam import ModelReply, ModelRequest
from ..quality._gates import check_value
from ..quality._leaves import iter_strings
from ..quality._settings import DEFAULT_FEEDBACK_MARKERS, QualityContext
from ._answering import AnswerSource
from ._json_answers import ARRAY_CAP, extract_json, field_guide, open_pointer, schema_for_model
from ._repair import field_schema, refused_fields, repair_prompt, splice, unwrap
from ._requests import RequestBuilder

__all__ = ["FEEDBACK_MARKERS", "Asker"]

# Phrases of hotdata's own re-ask prompts: an answer that contains one copied the feedback.
_NOT_VALID = "Your previous answer did not validate"
_NOT_ACCEPTED = "Your previous answer was not accepted"
_AGAIN = "Answer again with one JSON value matching this JSON Schema"
FEEDBACK_MARKERS = (*DEFAULT_FEEDBACK_MARKERS, _NOT_VALID.lower(), _NOT_ACCEPTED.lower())
# An answer holding a secret is always refused: stored blanked, it could never be replayed as it was.
SECRET_REFUSED = "the answer contains a secret value (not shown)"


class Asker:
    """Asks the model for one fixture's values: each request built from the fixture's plan
    (``RequestBuilder``), answered by its ``AnswerSource``, judged, and asked again until it is
    accepted. What the answers cost and why they were refused goes into the build's ``Tally``.

    The structured path is ``ask``; the prose path (``_write``) asks through ``answer``,
    ``note_prompt`` and ``refuse``.
    """

    def __init__(self, plan: FixturePlan, source: AnswerSource, tally: Tally) -> None:
        self.plan = plan
        self.source = source
        self.tally = tally
        self.capabilities = source.capabilities
        self.requests = RequestBuilder(plan.inputs, self.capabilities.option_names)
        self.round = 0  # the generator's attempt round: a new round samples new answers
        self._prompts: list[tuple[str, str]] = []  # (the call that asked, its prompt)
        self._material: list[str] = []  # accepted answers and context= of this round

    @property
    def fixture(self) -> str:
        return self.plan.name

    @property
    def max_attempts(self) -> int:
        """Asks of one value (``retries.validation_attempts``) before it fails."""
        return self.plan.inputs.attempts

    @property
    def prompts(self) -> tuple[tuple[str, str], ...]:
        """What this attempt round asked, by the call that asked it (the fixture's gate compares
        its data with them)."""
        return tuple(self._prompts)

    @property
    def material(self) -> tuple[str, ...]:
        """What this round gave the model to build on: its accepted answers, and ``context=``.
        A later prompt that quotes it does not make copying it an echo."""
        return tuple(self._material)

    def begin_round(self, round_: int) -> None:
        """The generator runs again (its value was refused): attempt round ``round_``."""
        self.round = round_
        self._prompts.clear()
        self._material.clear()

    def note_prompt(self, prompt: str, where: str = "") -> None:
        self._prompts.append((where, prompt))

    def note_material(self, *texts: str) -> None:
        """Accepted text, or context given with a prompt: material for later prompts."""
        self._material.extend(t for t in texts if t)

    def echo_context(self, prompt: str) -> QualityContext:
        """What one answer to ``prompt`` is judged against for echo (and secrets)."""
        fixture = self.plan.inputs
        return QualityContext(
            prompt=fixture.echo_text(prompt),
            secrets=fixture.secrets,
            feedback_markers=FEEDBACK_MARKERS,
            context=self.material,
        )

    def refuse(self, reasons: list[str]) -> None:
        """The value of the last attempt was not accepted, and why (kept in the record)."""
        self.tally.refused(reasons)

    async def answer(self, request: ModelRequest) -> ModelReply:
        """One request answered (recorded or asked), counted as an attempt."""
        self.tally.attempts += 1
        reply = (await self.source.answer(request, self.round)).reply
        self.tally.counted(reply)
        return reply

    async def ask(
        self,
        prompt: str,
        adapter: SchemaAdapter[Any],
        system: str | None = None,
        *,
        where: str = "",
    ) -> Any:
        """One value of ``adapter``'s schema that passes validation and the quality gates.

        A value refused at a few fields is mended there (``_repair``) when ``retries.repair`` is
        ``field``; otherwise, and when that fails, it is asked again whole.
        ``where``: the generator's line that asked (named in refusals)."""
        json_schema = adapter.json_schema()
        takes_schema = self.capabilities.supports_schema
        copies_feedback = self.capabilities.copies_feedback
        cap = ARRAY_CAP
        reasons: list[str] = []
        refused: tuple[StoredAnswer, list[str]] | None = None  # the recorded answer just refused
        mend: _Verdict | None = None  # the last valid answer, refused at a few fields
        extra_tokens = 0
        self.note_prompt(prompt, f"ctx.generate at {where}" if where else "")
        # a model that decodes under the schema without reading it gets its descriptions in words
        guide = field_guide(json_schema) if json_schema and self.capabilities.reads_no_schema_text else ""
        attempt, last = 0, self.max_attempts
        while attempt < last:
            attempt += 1
            asked = schema_for_model(json_schema, cap) if json_schema is not None else None
            if mend is not None and asked is not None and (self.plan.inputs.repair == "field" or mend.new):
                verdict = await self._repair(mend, prompt, adapter, asked, system, attempt)
                reasons = verdict.reasons
                new = list(mend.fields or ()) if mend.new else []  # the new fields, asked alone
                if mend.new and reasons:  # a new field's answer refused: the whole value asked again
                    assert mend.fields is not None
                    fields = ", ".join(mend.fields)
                    self.tally.notes.append(f"{fields} asked alone was refused, rebuilt whole")
                    mend, last = None, attempt + self.max_attempts
                elif verdict.fields is not None or not verdict.valid:
                    # mended and refused at other fields, or a field's answer unusable: mend again
                    mend = verdict if verdict.fields is not None else mend
                else:
                    mend = None
                if not reasons:
                    self.tally.asked_alone += new
                    self.note_material(*_strings(adapter, verdict.value))
                    return verdict.value
                self.refuse(reasons[:10])
                refused = None
                continue
            text = prompt + (f"\n\nThe fields:\n{guide}" if guide else "")
            if asked is not None and not takes_schema:
                text += f"\n\n{_AGAIN.replace('again ', '')}:\n{json.dumps(asked, indent=1)}"
            if reasons and not copies_feedback:
                heading = _NOT_VALID if reasons[0].startswith("at ") else _NOT_ACCEPTED
                text += f"\n\n{heading}:\n" + "\n".join(f"- {r}" for r in reasons[:20])
            self.tally.attempts += 1
            request = self.requests.request(
                text,
                attempt=attempt,
                json_schema=asked,
                system=system,
                options=self.requests.options(
                    self.round, attempt, extra_tokens, copies_feedback or bool(reasons)
                ),
            )
            answer = await self.source.answer(request, self.round, refused)
            reply, stored = answer.reply, answer.stored
            self.tally.counted(reply)
            if answer.replayed and stored is not None and stored.redacted:
                # stored with a secret blanked: judged as it was when asked, not as the blanked text
                verdict = _Verdict.refused(list(stored.refused or [SECRET_REFUSED]))
            else:
                verdict = self._judge(reply, adapter, json_schema, prompt)
                if not answer.replayed and stored is not None and stored.redacted:
                    verdict = _Verdict.refused(verdict.reasons or [SECRET_REFUSED])
                    self.source.record_refusal(answer, request, self.round, verdict.reasons)
            if answer.other_schema and not verdict.valid:  # asked under the schema before
                verdict = self._new_fields(reply, adapter, verdict, prompt)
                if verdict.new:  # it lacks only the fields added since: each is asked alone
                    mend, reasons = dataclasses.replace(verdict, whole_tokens=reply.output_tokens), []
                    last = max(last, attempt + 1)
                    continue
            if answer.other_schema and verdict.valid and verdict.fields and self._planned(verdict.fields):
                # valid (once keys the schema no longer has are dropped), but the new schema makes
                # the gates refuse a kept value (a text now at its tightened maxLength): the planned
                # fields asked alone, as for a value it refuses
                mend = dataclasses.replace(verdict, whole_tokens=reply.output_tokens, new=True)
                reasons, last = [], max(last, attempt + 1)
                continue
            reasons = verdict.reasons
            if not reasons:
                self.note_material(*_strings(adapter, verdict.value))
                return verdict.value
            self.refuse(reasons[:10])
            mend = dataclasses.replace(verdict, whole_tokens=reply.output_tokens) if verdict.fields else None
            refused = (stored, reasons) if answer.replayed and stored is not None else None
            if reply.finish_reason == "length":
                cap = max(1, cap // 2)
                extra_tokens += max(256, reply.output_tokens or 0)
        site = f"ctx.generate at {where}: " if where else ""
        raise GenerationError(
            f"fixture {self.fixture}: {site}no acceptable answer for {adapter.label} in {attempt} "
            f"attempt(s); last: {'; '.join(reasons[:4])}. {_advice(reasons)}"
        )

    async def _repair(
        self,
        mend: _Verdict,
        prompt: str,
        adapter: SchemaAdapter[Any],
        asked: Mapping[str, Any],
        system: str | None,
        attempt: int,
    ) -> _Verdict:
        """``mend``'s refused fields asked again one by one, spliced into it, and the whole judged
        again. Unusable (``valid`` False) when a field's answer is."""
        assert mend.fields is not None
        data = mend.data
        copies_feedback = self.capabilities.copies_feedback
        for part, (pointer, why) in enumerate(mend.fields.items()):
            schema = field_schema(asked, pointer)
            if schema is None:  # a field the schema does not describe: nothing to ask it under
                return _Verdict.refused([f"{pointer}: cannot be asked alone (no schema for it)", *why])
            schema_text = None if self.capabilities.supports_schema else json.dumps(schema, indent=1)
            shown_why = None if copies_feedback or not why else why  # a new field was never refused
            text = repair_prompt(prompt, data, pointer, shown_why, schema_text)
            self.tally.attempts += 1
            request = self.requests.request(
                text,
                attempt=attempt,
                json_schema=schema,
                system=system,
                options=self.requests.sample_options(self.round, attempt, part),
            )
            answer = await self.source.answer(request, self.round)
            reply, stored = answer.reply, answer.stored
            self.tally.counted(reply)
            if stored is not None and stored.redacted:
                reasons = list(stored.refused or [SECRET_REFUSED]) if answer.replayed else [SECRET_REFUSED]
                if not answer.replayed:
                    self.source.record_refusal(answer, request, self.round, reasons)
                return _Verdict.refused(reasons)
            self.tally.repairs.append(
                Repair(
                    attempt=self.tally.attempts,
                    pointer=pointer,
                    output_tokens=reply.output_tokens,
                    whole_output_tokens=mend.whole_tokens,
                    answer=answer.key,
                )
            )
            if reply.finish_reason == "length":
                return _Verdict.refused(
                    [f"{pointer}: the model stopped at its token limit; the answer is cut off"]
                )
            try:
                field = unwrap(json.loads(extract_json(reply.text)), pointer, schema)
                data = splice(data, pointer, field)
            except ValueError as exc:
                return _Verdict.refused([f"{pointer}: the answer for this field alone is not JSON ({exc})"])
        mended = self._check(json.dumps(data, ensure_ascii=False), adapter, adapter.json_schema(), prompt)
        if not mended.valid:  # the field's answer does not fit: say it was the field asked alone
            fields = ", ".join(mend.fields)
            mended = _Verdict.refused([f"{fields} asked again alone: {r}" for r in mended.reasons])
        return dataclasses.replace(mended, whole_tokens=mend.whole_tokens)

    def _planned(self, fields: Mapping[str, Any]) -> bool:
        """Whether ``fields`` are asked alone as planned (each planned pointer among them); with no
        plan (``doit verify`` of a record kept through a schema change), as the build asked them."""
        planned = self.plan.ask
        return planned is None or set(planned.pointers) <= set(fields)

    def _new_fields(
        self, reply: ModelReply, adapter: SchemaAdapter[Any], verdict: _Verdict, prompt: str
    ) -> _Verdict:
        """``verdict`` on an answer asked under the schema before, as a value to mend at the fields
        that fail the schema now (``new``): fields added since, or values it now refuses (in a build,
        at least the ones planned: it may also lack fields asked alone at an earlier change, whose
        recorded requests are made again). Each is asked with the answer so far: the fields before
        it filled, the ones after it absent. Keys the schema no longer allows are dropped."""
        raw = extract_json(reply.text)
        found = failing_fields(adapter, raw.encode("utf-8"))
        if isinstance(found, str):
            return verdict
        failing, extra = found
        if not (failing or extra):
            return verdict
        data = without(json.loads(raw), extra)
        if not failing:  # only keys the schema no longer has: the rest judged as it is (and a
            # value the gates now refuse asked alone, as planned: ``ask``)
            return self._check(json.dumps(data, ensure_ascii=False), adapter, adapter.json_schema(), prompt)
        planned = self.plan.ask
        if planned is not None and not set(planned.pointers) <= set(failing):
            return verdict
        fields = {p: [message] if message else [] for p, message in failing.items()}
        return _Verdict(value=None, data=data, reasons=verdict.reasons, fields=fields, valid=False, new=True)

    def _judge(
        self,
        reply: ModelReply,
        adapter: SchemaAdapter[Any],
        json_schema: Any,
        prompt: str,
    ) -> _Verdict:
        """The answer's value, or why it is refused."""
        raw = extract_json(reply.text)
        if reply.finish_reason == "length":
            limit = f" ({reply.output_tokens:,} tokens)" if reply.output_tokens else ""
            where = open_pointer(raw)
            return _Verdict.refused(
                [f"the model stopped at its token limit{limit} in {where}; the answer is cut off"]
            )
        return self._check(raw, adapter, json_schema, prompt)

    def _check(self, raw: str, adapter: SchemaAdapter[Any], json_schema: Any, prompt: str) -> _Verdict:
        """``raw`` JSON validated and gated: accepted, refused at some fields, or refused whole."""
        errors = adapter.errors_for(raw.encode("utf-8"))
        if errors:
            return _Verdict.refused(errors[:20])
        value = adapter.validate_json(raw.encode("utf-8"))
        try:
            data = json.loads(canonical_json(adapter.to_data(value)))
        except ValueError as exc:  # NaN or infinity passed validation but JSON cannot hold it
            return _Verdict.refused([f"the answer holds a number JSON cannot: {exc}"])
        judged = dataclasses.replace(self.echo_context(prompt), json_schema=json_schema)
        problems = check_value(data, self.plan.inputs.quality, judged, self.plan.inputs.checks)
        return _Verdict(
            value=value,
            data=data,
            reasons=[p.message for p in problems],
            fields=refused_fields(problems) if problems and isinstance(data, dict | list) else None,
            valid=True,
        )


@dataclasses.dataclass(frozen=True)
class _Verdict:
    """One answer judged: its value (``valid``), and why it is refused (no reasons: accepted);
    ``fields``: the few fields it is refused at, when they can be mended alone."""

    value: Any
    data: Any
    reasons: list[str]
    fields: dict[str, list[str]] | None
    valid: bool
    whole_tokens: int | None = None  # output tokens of the whole answer mending stands in for
    new: bool = False  # ``fields`` are new in the schema, not refused: each is asked for alone

    @classmethod
    def refused(cls, reasons: list[str]) -> _Verdict:
        return cls(value=None, data=None, reasons=reasons, fields=None, valid=False)


def _strings(adapter: SchemaAdapter[Any], value: Any) -> list[str]:
    """The text of an accepted value: material a later prompt may quote."""
    try:
        data = adapter.to_data(value)
    except Exception:  # a value the adapter cannot write out is judged elsewhere
        return []
    return [text for _, text in iter_strings(data)]


def _advice(reasons: list[str]) -> str:
    if any("token limit" in r for r in reasons):
        return "Ask for less (fewer or shorter items: maxItems, maxLength in the schema) or a larger model"
    if reasons and not reasons[0].startswith("at "):
        return (
            "The answers were valid but failed quality gates; improve the prompt, or tune "
            "[tool.hotdata.quality] (or quality= on the fixture)"
        )
    return "Tighten the template or the schema, or raise retries.validation_attempts in [tool.hotdata]"
