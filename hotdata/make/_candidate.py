"""``Candidate``: what the generate stage hands the commit stage.

Validated canonical bytes plus the provenance record that describes them, written nowhere
yet: the commit stage decides whether and where they land. The record is made from the
fixture's plan, the value its generator returned, and the ``Tally`` of what generating it
asked, used, paid and was refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import SchemaError
from .._provenance import FailedAttempt, Migration, Provenance, Repair, Usage, Verdict, sha256_hex
from .._schema import SchemaAdapter, canonical_json
from .._version import __version__
from ._field_change import FillRefused, fill_data
from ._fixture_plan import FixturePlan
from .models._seam import ModelReply

__all__ = [
    "Candidate",
    "InvalidValue",
    "Tally",
    "encode_as_built",
    "encode_value",
    "kept_candidate",
    "make_candidate",
    "migrated_candidate",
]


class InvalidValue(ValueError):
    """A generated value that cannot become a fixture; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """A generated fixture that passed validation, not yet written."""

    name: str
    data_path: Path
    meta_path: Path
    data: bytes
    record: Provenance
    spent: Usage = field(default_factory=Usage)  # paid in this run (the record counts replays too)


def _add(usage: Usage, reply: ModelReply) -> None:
    usage.calls += 1
    if reply.input_tokens is not None:
        usage.input_tokens = (usage.input_tokens or 0) + reply.input_tokens
    if reply.output_tokens is not None:
        usage.output_tokens = (usage.output_tokens or 0) + reply.output_tokens


@dataclass
class Tally:
    """What generating one fixture asked, used, paid and was refused: the counts its record keeps.

    Made by whoever builds the fixture and kept when the build fails, so a failed build still
    says which paid answers it holds (``answers``)."""

    attempts: int = 0  # requests asked (recorded or not), over every attempt round
    usage: Usage = field(default_factory=Usage)  # what the answers cost when they were asked
    usage_per_attempt: list[Usage] = field(default_factory=list)
    failed: list[FailedAttempt] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # the key of every answer used, in the store
    answer_digests: dict[str, str] = field(default_factory=dict)  # key -> digest of the answer used
    replayed: int = 0  # answers taken from the store instead of the model
    spent: Usage = field(default_factory=Usage)  # what this run paid the model (replays excluded)
    repairs: list[Repair] = field(default_factory=list)  # fields asked again alone
    notes: list[str] = field(default_factory=list)  # what the build did other than planned, in words
    asked_alone: list[str] = field(default_factory=list)  # new fields asked alone, spliced into an answer
    under_old_schema: bool = False  # an answer asked under the schema before was replayed

    def counted(self, reply: ModelReply) -> None:
        """One answer, recorded or asked: its cost goes into the record."""
        self.usage_per_attempt.append(
            Usage(calls=1, input_tokens=reply.input_tokens, output_tokens=reply.output_tokens)
        )
        _add(self.usage, reply)

    def paid(self, reply: ModelReply) -> None:
        """One answer this run paid the model for."""
        _add(self.spent, reply)

    def keyed(self, key: str) -> None:
        """An answer is looked for under ``key`` (counted before it is found, or paid for)."""
        self.answers.append(key)

    def answered(self, key: str, digest: str, *, replayed: bool) -> None:
        """The answer under ``key`` was used: its digest, and whether it was replayed."""
        self.answer_digests[key] = digest
        self.replayed += replayed

    def field_words(self, plan: FixturePlan) -> list[str]:
        """What became of the fields ``plan`` asks alone, when not what it planned."""
        if plan.ask is None or self.asked_alone or self.notes:
            return self.notes
        return ["no answer of the schema before failed only at the fields planned, none asked alone: rebuilt"]

    def refused(self, reasons: list[str]) -> None:
        """The last attempt's answer, or the generator's value, was not accepted, and why."""
        self.failed.append(FailedAttempt(attempt=self.attempts, reasons=reasons))


def encode_value(adapter: SchemaAdapter[Any], value: Any) -> bytes:
    """The canonical JSON bytes of ``value``, validated as written.

    Raises ``InvalidValue`` when the value is not of the schema, holds what JSON
    cannot (NaN, infinity, a lone surrogate), or does not validate once written out.
    """
    try:
        data = canonical_json(adapter.to_data(value))
    except SchemaError as exc:
        raise InvalidValue(str(exc)) from None
    except UnicodeEncodeError as exc:  # a lone surrogate in a string (before ValueError: a subclass)
        raise InvalidValue(
            f"text that is not valid Unicode ({exc.reason}: {exc.object[exc.start : exc.end]!r})"
        ) from None
    except ValueError as exc:
        raise InvalidValue(f"a value JSON cannot hold ({exc})") from None
    errors = adapter.errors_for(data)
    if errors:
        raise InvalidValue(f"a value that does not validate against {adapter.label}: {'; '.join(errors[:3])}")
    return data


def encode_as_built(adapter: SchemaAdapter[Any], value: Any) -> bytes:
    """``value`` (plain data, not a model) encoded as a build writes what its generator returns:
    validated against the schema and written from what validating made (``"30"`` for an integer
    field is ``30``, a default is filled in). Raises ``InvalidValue`` as ``encode_value`` does."""
    return encode_value(adapter, adapter.validate_json(encode_value(adapter, value)))


def _copies(schemas: Mapping[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    """The schema copies a record keeps: a schema that holds a known secret (in a description, a
    default) is left out, never written (a change of it is then rebuilt, as without a copy)."""
    kept = {}
    for name, schema in schemas.items():
        text = json.dumps(schema, ensure_ascii=False)
        if schema is not None and not any(s and s in text for s in secrets):
            kept[name] = schema
    return kept


def make_candidate(
    plan: FixturePlan,
    value: Any,
    tally: Tally,
    *,
    generated_at: datetime,
    templates: Mapping[str, str],
    schemas_used: Mapping[str, str],
    samplers: Mapping[str, str] | None = None,
    schema_copies: Mapping[str, Any] | None = None,
    encoded: bytes | None = None,
    verdicts: Sequence[Verdict] = (),
) -> Candidate:
    """Serialize ``value`` canonically (``encode_value``) and describe the bytes in a record: the
    plan's inputs, its fingerprint completed with the ``templates`` the generator rendered and the
    other schemas it asked for (``schemas_used``), and the tally's counts. ``encoded``: what
    ``encode_value`` already gave for ``value`` (it is not encoded and validated twice);
    ``verdicts``: what the judge model said about it; ``schema_copies``: the JSON Schemas of
    ``schemas_used``, kept in the record with the fixture's own so that a later change of any
    of them can be classified; ``samplers``: the libraries ``ctx.sample`` drew values from, with
    their versions (none: the fingerprint has no ``samplers`` key)."""
    inputs = plan.inputs
    data = encode_value(inputs.adapter, value) if encoded is None else encoded
    own = inputs.adapter.canonical_schema()
    schemas = {**({} if own is None else {inputs.adapter.name: own}), **(schema_copies or {})}
    record = Provenance(
        name=inputs.name,
        schema_name=inputs.adapter.name,
        schema_hash=inputs.adapter.schema_hash(),
        data_sha256=sha256_hex(data),
        generated_at=generated_at,
        ttl_seconds=None if inputs.ttl is None else inputs.ttl.total_seconds(),
        fingerprint=inputs.fingerprint(templates, schemas_used, samplers),
        generator=inputs.spec.generator_name,
        model=inputs.model,
        model_options=dict(inputs.recorded_options),
        attempts=tally.attempts,
        usage=tally.usage,
        usage_per_attempt=tally.usage_per_attempt,
        failed_attempts=tally.failed,
        repairs=tally.repairs,
        quality=inputs.quality_hash,
        reason="; ".join([plan.reason, *tally.field_words(plan)]),
        answers=tally.answers,
        answer_digests=dict(tally.answer_digests),
        replayed=tally.replayed,
        hotdata_version=__version__,
        verdicts=list(verdicts),
        schemas=_copies(schemas, inputs.secrets),
        # its first answer was asked under the schema before: ``doit verify`` replays it so too
        kept_through=[plan.reason] if tally.under_old_schema else [],
    )
    return Candidate(inputs.name, plan.data_path, plan.meta_path, data, record, tally.spent)


def _up_to_date(
    plan: FixturePlan, record: Provenance, used: Mapping[str, SchemaAdapter[Any]]
) -> dict[str, Any]:
    """What a kept record changes to describe the schemas as they are now: the schema hashes and
    copies, the current fingerprint (its templates and samplers as recorded), the plan's reason.
    ``used``: the other schemas the generator asked for, as they are now, by name."""
    inputs = plan.inputs
    own = inputs.adapter.canonical_schema()
    schemas: dict[str, Any] = {} if own is None else {inputs.adapter.name: own}
    for name, adapter in used.items():
        copy = adapter.canonical_schema()
        if copy is not None:
            schemas[name] = copy
    templates = dict((record.fingerprint or {}).get("templates") or {})
    samplers = dict((record.fingerprint or {}).get("samplers") or {})
    return {
        "schema_name": inputs.adapter.name,
        "schema_hash": inputs.adapter.schema_hash(),
        "fingerprint": inputs.fingerprint(templates, {n: a.schema_hash() for n, a in used.items()}, samplers),
        "reason": plan.reason,
        "hotdata_version": __version__,
        "schemas": _copies(schemas, inputs.secrets),
    }


def kept_candidate(
    plan: FixturePlan, record: Provenance, data: bytes, used: Mapping[str, SchemaAdapter[Any]]
) -> Candidate:
    """The committed ``data`` kept, under a record brought up to the schemas as they are now.

    For a schema change that does not matter (``plan.SCHEMA_KEPT``): the data was just
    revalidated against the fixture's schema (with the new fields of ``plan.fill`` filled in from
    their defaults, every other value as it was); the record keeps when and how the data was made
    (its answers, usage, ``generated_at``: a ttl still counts from then) and gets the current
    schema hashes and copies, the current fingerprint and the plan's reason. ``used``: the
    other schemas the generator asked for, as they are now, by name."""
    inputs = plan.inputs
    if sha256_hex(data) != record.data_sha256:
        raise InvalidValue(f"{plan.data_path.name} changed since it was revalidated")
    if plan.fill is not None:
        try:
            data = fill_data(inputs.adapter, data, plan.fill, inputs.secrets)
        except FillRefused as exc:
            raise InvalidValue(str(exc)) from None
    errors = inputs.adapter.errors_for(data)
    if errors:
        raise InvalidValue(f"a value that does not validate against {inputs.adapter.label}: {errors[0]}")
    update = {
        **_up_to_date(plan, record, used),
        "data_sha256": sha256_hex(data),
        "kept_through": [*record.kept_through, plan.reason],
    }
    return Candidate(inputs.name, plan.data_path, plan.meta_path, data, record.model_copy(update=update))


def migrated_candidate(
    plan: FixturePlan,
    record: Provenance,
    value: Any,
    used: Mapping[str, SchemaAdapter[Any]],
    migration: Migration,
) -> Candidate:
    """The migrated ``value`` (``doit migrate``), encoded and validated like a generated one, under
    the committed record brought up to the schemas as they are now, with ``migration`` added to
    its ``migrated`` list and the quality hash of the gates it was just run through. When and how
    the data was first made (answers, usage, ``generated_at``) is kept. Raises ``InvalidValue``."""
    data = encode_as_built(plan.inputs.adapter, value)
    update = {
        **_up_to_date(plan, record, used),
        "data_sha256": sha256_hex(data),
        "quality": plan.inputs.quality_hash,
        "migrated": [*record.migrated, migration],
    }
    return Candidate(plan.name, plan.data_path, plan.meta_path, data, record.model_copy(update=update))
