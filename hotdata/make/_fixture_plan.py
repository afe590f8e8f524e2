"""``FixturePlan``: what the plan stage hands the generate stage, one per fixture to rebuild.

The plan stage resolves every input of a fixture once (``FixtureInputs``): the model with its
options as sent and as recorded, its own system prompt, the schema, the quality gates, the
judge's questions and model, the ttl, the timeout and the generator's code. The requests are
built from these values, the fingerprint is recorded from them and the local index digests
them, so what is sent, what is fingerprinted and what is indexed cannot disagree. A ``FixturePlan`` adds what this build
decided: the fixture's paths, why it is rebuilt, its replay mode, and what it must not repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .._schema import SchemaAdapter
from ._config import ReplayMode
from ._field_change import FieldAsk, FieldFill
from ._spec import FixtureSpec
from .quality._settings import QualitySettings, UserCheck

__all__ = ["FINGERPRINT_FORMAT", "READABLE_FORMATS", "Fingerprint", "FixtureInputs", "FixturePlan"]

# Bump when the fingerprint rules change: older records then read as stale, on purpose.
# 3: the generator's whole code closure (constants, helpers, classes it uses), not its source alone.
# 4: schema classes left the closure (their JSON Schemas are fingerprinted); a format-3 record is
#    still read, its closure compared with the closure as format 3 made it (``plan._checks``).
FINGERPRINT_FORMAT = 4
# Older formats the checks still read, each compared by the rules it was written with.
READABLE_FORMATS = (3, FINGERPRINT_FORMAT)


class Fingerprint(BaseModel):
    """The ``fingerprint`` of a provenance record, typed (a record with wrong types is unreadable)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: int
    generator: str
    code: dict[str, str] = Field(default_factory=dict)
    templates: dict[str, str] = Field(default_factory=dict)
    schema_: str = Field(alias="schema")
    schemas_used: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    model: str
    model_options: dict[str, Any] = Field(default_factory=dict)
    system: str | None = None  # the hash of the fixture's system prompt; absent when it has none
    judge: dict[str, Any] | None = None  # the judge's questions and model; absent when it has none
    # the libraries ctx.sample drew values from, with their versions; absent when it drew none
    samplers: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class FixtureInputs:
    """Everything one fixture is built from, resolved once (``plan.InputResolver``)."""

    spec: FixtureSpec
    adapter: SchemaAdapter[Any]  # of the fixture's schema
    model: str
    options: Mapping[str, Any]  # as sent: the configured options under the fixture's own
    recorded_options: Mapping[str, Any]  # as recorded and fingerprinted: credentials masked
    system: str | None  # the fixture's own system prompt (``system=``), sent first in every request
    system_hash: str | None  # as fingerprinted (a hash: the prompt may hold what a record must not)
    params: Mapping[str, Any]  # the variant parameters as recorded: credentials masked
    generator: str  # ``version:<pin>``, or the hash of the generator's code closure
    code: Mapping[str, str]  # the code closure, by name ({} when the version is pinned)
    quality: QualitySettings
    checks: tuple[UserCheck, ...]  # the fixture's own quality checks
    quality_hash: str  # identifies the gates its data must pass
    attempts: int  # runs of the generator, and asks of one value, before it fails
    ttl: timedelta | None
    timeout: float  # seconds its generation may take
    secrets: tuple[str, ...] = field(repr=False)  # never in its data, records, answers or messages
    repair: str = "field"  # retries.repair: refused fields are asked again alone, or the whole value
    # yes/no questions about the whole fixture: [tool.hotdata.judge]'s, then its own judge=
    judge: tuple[str, ...] = ()
    judge_model: str | None = None  # who answers them (None: no questions)

    @property
    def judge_fingerprint(self) -> dict[str, Any] | None:
        """The judge as fingerprinted: its questions and model; None when it asks none."""
        if not self.judge:
            return None
        return {"questions": list(self.judge), "model": self.judge_model}

    @property
    def name(self) -> str:
        return self.spec.name

    def echo_text(self, *prompts: str) -> str:
        """What an answer must not copy back (the echo gate): the fixture's system prompt, then
        the prompts asked."""
        return "\n\n".join(p for p in (self.system, *prompts) if p)

    def fingerprint(
        self,
        templates: Mapping[str, str],
        schemas_used: Mapping[str, str],
        samplers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The fingerprint to record: what is known before generating, completed with what only the
        generation knows (the templates it rendered, with their includes, and the other schemas
        it asked the model for). A fixture without a system prompt has no ``system`` key, so
        its fingerprint is what it was before fixtures could have one; likewise ``samplers`` (the
        libraries ``ctx.sample`` drew values from, by version) only when the generator sampled."""
        fingerprint: dict[str, Any] = {
            "format": FINGERPRINT_FORMAT,
            "generator": self.generator,
            "code": dict(self.code),
            "templates": dict(sorted(templates.items())),
            "schema": self.adapter.schema_hash(),
            "schemas_used": dict(sorted(schemas_used.items())),
            "params": dict(self.params),
            "model": self.model,
            "model_options": dict(self.recorded_options),
        }
        if self.system_hash is not None:
            fingerprint["system"] = self.system_hash
        judge = self.judge_fingerprint
        if judge is not None:  # absent without questions: fingerprints made before judges stay fresh
            fingerprint["judge"] = judge
        if samplers:  # absent when nothing was sampled: fingerprints made before ctx.sample stay fresh
            fingerprint["samplers"] = dict(sorted(samplers.items()))
        return fingerprint


@dataclass(frozen=True)
class FixturePlan:
    """One fixture this build rebuilds, and everything the generate stage needs to do it."""

    inputs: FixtureInputs
    data_path: Path
    meta_path: Path
    reason: str  # why it is rebuilt, in the classifier's words (kept in the record)
    replay: ReplayMode  # recorded answers: "off" when its ttl expired (the answers are what expired)
    batch: bool  # its first requests may wait for this run's provider batch
    # the data of the other variants of its generator, which it must not repeat
    family: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # answer key -> the digests its records were built from (an answer changed since is refused)
    built_from: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    # committed bytes that passed these very gates (its record holds this plan's quality hash):
    # a value encoding to exactly them is not gated again (``doit verify``)
    passed: bytes | None = field(default=None, repr=False)
    # its record was kept through a schema change: an answer it was built from may have been asked
    # under the schema before, and is replayed for the same request under the schema now (replay only)
    kept_through_schema_change: bool = False
    # its schema gained fields with defaults: the committed data is kept with them filled in, no call
    fill: FieldFill | None = None
    # the recorded migrations of a migrated fixture (``doit migrate``), applied to the text of each
    # replayed answer before the generator reads it (``doit verify``; None: answers as recorded)
    answer_migration: Callable[[str], str] | None = field(default=None, repr=False)
    # its schema gained required fields: its recorded answer is replayed though asked under the schema
    # before, and each new field is asked alone (``_ask``), the rest kept
    ask: FieldAsk | None = None

    @property
    def name(self) -> str:
        return self.inputs.name
