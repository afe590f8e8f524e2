"""``doit stats``: a report on the committed catalog as a whole, never a model call.

Across fixtures and per field (a field is a schema and a JSON pointer with array indices
generalised: ``/connections/*/relation``): string lengths, distinct ratio, enum coverage
against the schema; across the catalog: the most repeated word 3-grams and capitalised names,
near-duplicate pairs (the quality gates' similarity), gate refusals by check (from the records'
``failed_attempts``), tokens and calls, ages. Files under ``fixtures/`` are untrusted: one that
cannot be read, is not JSON or holds a merge conflict is reported in one line and left out.

``StatsReport.to_json()`` is ``doit stats --json``; its keys are stable (``STATS_FORMAT`` is
bumped when one changes meaning). ``_stats_text`` prints it, ``_stats_page`` draws it as HTML.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._errors import HotDataError
from ..._provenance import Provenance, read_provenance
from ..plan._planner import Planner
from ..quality._leaves import walk
from ..quality._settings import QualitySettings
from ..quality._similar import FamilyProse
from ..quality._text import jaccard, ngrams, split_sentences, words

__all__ = ["STATS_FORMAT", "StatsReport", "collect_stats", "refusal_check"]

STATS_FORMAT = 1
TOP = 10  # n-grams, names and near-duplicate pairs listed
NGRAM = 3  # words in a repeated phrase
_SIMILARITY_WORDS = 3  # what ``quality.similarity`` counts as prose, so the scores are its scores
MAX_DATA_BYTES = 64 * 1024 * 1024  # a larger file is reported, not read

_CHECK = re.compile(r"\[([a-z][a-z0-9_-]*)\]\s*$")
# A capitalised word, or a run of them ("Ada Lovelace"), inside a sentence.
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*\b")
_CONFLICT = re.compile(rb"^(<<<<<<< |>>>>>>> )", re.MULTILINE)


def refusal_check(reason: str) -> str:
    """The check behind one refused attempt's reason: a gate's ``[name]``, ``schema`` for a
    validation error (``at /field: ...``), else ``other``."""
    found = _CHECK.search(reason)
    if found:
        return found.group(1)
    return "schema" if reason.startswith("at ") else "other"


@dataclass
class _Field:
    lengths: list[int] = field(default_factory=list)
    values: Counter[str] = field(default_factory=Counter)
    enum: list[str] | None = None  # the schema's allowed values, when it lists them


@dataclass
class _Fixture:
    name: str
    schema: str
    data: Any
    record: Provenance | None


@dataclass
class StatsReport:
    """The figures of one ``doit stats`` run, as ``to_json()`` gives them."""

    fixtures: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    enums: list[dict[str, Any]]
    ngrams: list[dict[str, Any]]
    names: list[dict[str, Any]]
    near_duplicates: list[dict[str, Any]]
    refusals: dict[str, int]
    totals: dict[str, Any]
    problems: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATS_FORMAT,
            "totals": self.totals,
            "fixtures": self.fixtures,
            "fields": self.fields,
            "enums": self.enums,
            "ngrams": self.ngrams,
            "names": self.names,
            "near_duplicates": self.near_duplicates,
            "refusals": self.refusals,
            "problems": self.problems,
        }


def _read_data(path: Path) -> tuple[Any, str | None]:
    """The JSON at ``path``, or why it cannot be had (one line, with the way out)."""
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            return None, f"{path}: larger than {MAX_DATA_BYTES // 2**20} MiB; not read"
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, f"{path}: missing; build it with `doit fixtures`"
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc.strerror}); check its permissions"
    if _CONFLICT.search(raw):
        return None, f"{path}: holds merge-conflict markers; resolve the conflict, then `doit validate`"
    try:
        return json.loads(raw), None
    except UnicodeDecodeError as exc:
        return None, f"{path}: not valid UTF-8 (byte {exc.start}); rebuild it with `doit fixtures`"
    except json.JSONDecodeError as exc:
        return (
            None,
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); rebuild it with `doit fixtures`",
        )
    except RecursionError:
        return None, f"{path}: nested too deeply to read; rebuild it with `doit fixtures`"


def _field_pointer(pointer: str) -> str:
    return "/".join("*" if seg.isdigit() else seg for seg in pointer.split("/"))


def _enum_of(schemas: Iterable[Mapping[str, Any]]) -> list[str] | None:
    allowed: list[str] = []
    for schema in schemas:
        if isinstance(schema.get("enum"), list):
            allowed += [v for v in schema["enum"] if isinstance(v, str)]
        elif isinstance(schema.get("const"), str):
            allowed.append(schema["const"])
    return list(dict.fromkeys(allowed)) or None


def _names_in(text: str) -> set[str]:
    """Capitalised names in ``text``: a sentence's first word only when a capital follows it
    ("Kestrel Vane said"), or when the whole text is a short label ("Kestrel")."""
    found: set[str] = set()
    if len(text.split()) <= 3 and _NAME.fullmatch(text.strip()):
        return {text.strip()}
    for sentence in split_sentences(text):
        for match in _NAME.finditer(sentence):
            lead = sentence[: match.start()].strip(" \"'\u201c(")
            if lead or " " in match.group() or "-" in match.group():
                found.add(match.group())
    return found


def _median(values: list[int]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _ranked(counts: Counter[str], holders: Mapping[str, set[str]], key: str) -> list[dict[str, Any]]:
    """The most repeated items held by 2 fixtures or more, with their counts and fixtures."""
    shared = [k for k in counts if len(holders[k]) >= 2]
    shared.sort(key=lambda k: (-len(holders[k]), -counts[k], k))
    return [{key: k, "count": counts[k], "fixtures": sorted(holders[k])} for k in shared[:TOP]]


def _read_catalog(planner: Planner, problems: list[str]) -> list[_Fixture]:
    found = []
    for spec in planner.catalog:
        data_path, meta_path = planner.paths(spec)
        data, problem = _read_data(data_path)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            record = read_provenance(meta_path)
        except HotDataError as exc:
            # the record's own error says how to fix it
            problems.append(f"{str(exc).rstrip('.')}; its tokens, calls and age are left out")
            record = None
        found.append(_Fixture(spec.name, spec.schema_label, data, record))
    return found


def _schema_of(planner: Planner, spec_name: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        return planner.inputs(planner.catalog.get(spec_name)).adapter.json_schema()
    except HotDataError as exc:
        problems.append(f"{spec_name}: its schema cannot be had ({exc}); enum coverage left out")
        return None


def collect_stats(planner: Planner, settings: QualitySettings | None = None) -> StatsReport:
    """The report over the committed data and records of ``planner``'s catalog."""
    settings = settings or QualitySettings()
    problems: list[str] = []
    fixtures = _read_catalog(planner, problems)
    now = planner.clock()
    fields: dict[tuple[str, str], _Field] = defaultdict(_Field)
    grams: Counter[str] = Counter()
    gram_holders: dict[str, set[str]] = defaultdict(set)
    names: Counter[str] = Counter()
    name_holders: dict[str, set[str]] = defaultdict(set)
    rows = []
    refusals: Counter[str] = Counter()
    for fx in fixtures:
        for leaf in walk(fx.data, _schema_of(planner, fx.name, problems)):
            slot = fields[(fx.schema, _field_pointer(leaf.pointer))]
            slot.lengths.append(len(leaf.text))
            slot.values[leaf.text] += 1
            slot.enum = slot.enum or _enum_of(leaf.schemas)
            for gram in ngrams(words(leaf.text), NGRAM):
                grams[" ".join(gram)] += 1
                gram_holders[" ".join(gram)].add(fx.name)
            for name in _names_in(leaf.text):
                names[name] += 1
                name_holders[name].add(fx.name)
        rec = fx.record
        checks: Counter[str] = Counter()
        for attempt in rec.failed_attempts if rec else ():
            checks.update({refusal_check(r) for r in attempt.reasons})
        refusals.update(checks)
        rows.append(
            {
                "name": fx.name,
                "schema": fx.schema,
                "model": rec.model if rec else None,
                "calls": rec.usage.calls if rec else None,
                "input_tokens": rec.usage.input_tokens if rec else None,
                "output_tokens": rec.usage.output_tokens if rec else None,
                "refused_attempts": len(rec.failed_attempts) if rec else None,
                "generated_at": rec.generated_at.isoformat().replace("+00:00", "Z") if rec else None,
                "age_seconds": round((now - rec.generated_at).total_seconds()) if rec else None,
            }
        )
    field_rows, enum_rows = [], []
    for (schema, pointer), slot in sorted(fields.items()):
        count = len(slot.lengths)
        field_rows.append(
            {
                "schema": schema,
                "pointer": pointer,
                "values": count,
                "min_length": min(slot.lengths),
                "median_length": _median(slot.lengths),
                "max_length": max(slot.lengths),
                "distinct_ratio": round(len(slot.values) / count, 3),
            }
        )
        if slot.enum is not None:
            used = {v: slot.values.get(v, 0) for v in slot.enum}
            enum_rows.append(
                {
                    "schema": schema,
                    "pointer": pointer,
                    "used": used,
                    "unused": [v for v, n in used.items() if n == 0],
                }
            )
    return StatsReport(
        fixtures=rows,
        fields=field_rows,
        enums=enum_rows,
        ngrams=_ranked(grams, gram_holders, "ngram"),
        names=_ranked(names, name_holders, "name"),
        near_duplicates=_near_duplicates(fixtures, settings.near_duplicate_threshold),
        refusals=dict(sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))),
        totals=_totals(rows, len(planner.catalog)),
        problems=problems,
    )


def _near_duplicates(fixtures: list[_Fixture], threshold: float) -> list[dict[str, Any]]:
    """The most similar pairs of fixtures of one schema, by the quality gates' prose similarity
    (``similarity``: word 3-shingle Jaccard), each with whether it is over the near-duplicate
    threshold. Each fixture is shingled once, and only pairs sharing a shingle are compared
    (the others score 0), so a big catalog costs its shingles, not N² comparisons of all."""
    family = FamilyProse()
    by_schema: dict[str, list[_Fixture]] = defaultdict(list)
    for fx in fixtures:
        by_schema[fx.schema].append(fx)
    pairs = []
    for group in by_schema.values():
        prose = {fx.name: family.of(fx.name, fx.data, _SIMILARITY_WORDS).whole for fx in group}
        holders: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for name, shingles in prose.items():
            for shingle in shingles:
                holders[shingle].append(name)
        for a, shingles in prose.items():
            for b in sorted({n for s in shingles for n in holders[s] if n > a}):
                pairs.append((jaccard(shingles, prose[b]), a, b))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [
        {"a": a, "b": b, "similarity": round(s, 3), "over_threshold": s > threshold}
        for s, a, b in pairs[:TOP]
    ]


def _totals(rows: list[dict[str, Any]], catalog: int) -> dict[str, Any]:
    ages = [r["age_seconds"] for r in rows if r["age_seconds"] is not None]

    def total(key: str) -> int | None:
        known = [r[key] for r in rows if r[key] is not None]
        return sum(known) if known else None

    return {
        "catalog": catalog,
        "read": len(rows),
        "calls": total("calls"),
        "input_tokens": total("input_tokens"),
        "output_tokens": total("output_tokens"),
        "refused_attempts": total("refused_attempts"),
        "oldest_age_seconds": max(ages) if ages else None,
        "median_age_seconds": round(statistics.median(ages)) if ages else None,
        "newest_age_seconds": min(ages) if ages else None,
    }
