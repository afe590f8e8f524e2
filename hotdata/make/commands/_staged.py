"""The changes staged for review, found and checked the way ``doit validate`` checks fixtures.

A staged pair (``NAME.json.new`` + ``NAME.meta.json.new``) is a file in ``fixtures/``
like any other: committed, merged, hand-edited. Before review shows it or accept
commits it, it is checked: that both files read (else it is *broken*), that its
record is this fixture's, that its data validates against the schema and passes the
quality gates, and whether the committed data was edited by hand since (accepting
would discard that edit). A reviewer's own edit of the staged data is kept, as a hand
edit. A staged pair of a fixture no longer in the catalog is an *orphan*.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._errors import HotDataError
from ..._freshness import FixtureState
from ..._names import DATA_SUFFIX, META_SUFFIX
from ..._store import STAGED_SUFFIX, StagedPair, inspect_staged
from .._spec import FixtureSpec
from ..generate._maker import describe_exception
from ..plan._planner import Planner
from ..quality._gates import check_value
from ..quality._settings import QualityContext
from ..quality._similar import FamilyProse, near_duplicates
from ._diff import Change, diff_values, render_changes

__all__ = ["StagedChange", "StagedChanges"]

_MAX_LINES = 40
# The planner's objections that say a record is not this fixture's, or not a record at all.
_RECORD_IDENTITY_CHECKS = frozenset({"record", "fingerprint", "name", "format"})


@dataclass(frozen=True)
class StagedChange:
    """One staged pair: what it changes, and why accept would refuse it (``problems``)."""

    name: str
    data_path: Path  # the committed data file the pair would replace
    meta_path: Path
    pair: StagedPair
    shown: str  # the staged data file as the user knows it (relative to the project)
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overwrites_edit: str = ""  # why accepting would discard a hand edit of the committed data
    orphan: bool = False

    @property
    def identity(self) -> str:
        return self.pair.identity

    @property
    def reason(self) -> str:
        record = self.pair.record
        return (record.reason if record is not None else None) or "regenerated"

    @property
    def state(self) -> str:
        if self.orphan:
            return "orphan"
        if self.pair.broken:
            return "broken"
        return "edited" if self.pair.edited else "pending"

    def lines(self) -> list[str]:
        if self.orphan:
            return [
                f"{self.name}  ORPHAN: a staged change of a fixture no longer in the catalog "
                f"({self.shown}); `doit reject {self.name}` removes it"
            ]
        if self.pair.broken:
            return [f"{self.name}  BROKEN: {self.pair.problem}; fix it or `doit reject {self.name}`"]
        new = "new fixture, " if self.changes and self.changes[0].pointer == "" else ""
        edited = "edited by hand in review, " if self.pair.edited else ""
        head = f"{self.name}  ({new}{edited}{self.reason}; {len(self.changes)} change(s))"
        body = [f"    {line}" for line in render_changes(self.changes, _MAX_LINES)]
        body += [f"    note: {note}" for note in self.notes]
        body += [f"    judge: {line}" for line in self.verdict_lines()]
        body += [f"    ! accept refuses it: {problem}" for problem in self.problems]
        if self.overwrites_edit:
            body.append(f"    ! {self.overwrites_edit}")
        return [head, *body]

    def verdict_lines(self) -> list[str]:
        """What the judge model said about the staged data, one line per question."""
        record = self.pair.record
        verdicts = [] if record is None else record.verdicts
        return [
            f"{v.question} — {v.answer}{f' ({v.field})' if v.field else ''}: {v.reason} [{v.model}]"
            for v in verdicts
        ]

    def to_json(self) -> dict[str, Any]:
        record = self.pair.record
        return {
            "name": self.name,
            "state": self.state,
            "reason": None if record is None else self.reason,
            "file": str(self.data_path),
            "staged": str(self.pair.data_path),
            "generated_at": None
            if record is None
            else record.generated_at.isoformat().replace("+00:00", "Z"),
            "model": None if record is None else record.model,
            "changes": [c.to_json() for c in self.changes],
            "problems": list(self.problems),
            "overwrites_edit": self.overwrites_edit or None,
            "notes": list(self.notes),
            "verdicts": [] if record is None else [v.model_dump() for v in record.verdicts],
        }


class StagedChanges:
    """The staged pairs of a project, found and checked.

    Args:
        planner: the catalog, its classifier, and where each fixture's files are.
        root: the project root (paths are shown relative to it).
        prose: the run's prose shingles (near-duplicate checks compare each variant once).
    """

    def __init__(self, planner: Planner, root: Path, prose: FamilyProse | None = None) -> None:
        self.planner = planner
        self.root = root
        self.prose = prose or FamilyProse()

    def shown(self, path: Path) -> str:
        """``path`` as the user knows it: relative to the project."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def find_orphans(self) -> dict[str, tuple[Path, Path]]:
        """Staged files of fixtures no longer in the catalog: name -> (data path, record path)."""
        root = self.planner.fixtures_path
        catalog = self.planner.catalog
        found: dict[str, tuple[Path, Path]] = {}
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .answers, .batches, editors' files
            for file in files:
                if file.startswith(".") or not file.endswith(DATA_SUFFIX + STAGED_SUFFIX):
                    continue
                stem = file[: -len(DATA_SUFFIX + STAGED_SUFFIX)]
                stem = stem.removesuffix(META_SUFFIX[: -len(DATA_SUFFIX)])  # NAME.meta.json.new -> NAME
                name = Path(directory, stem).relative_to(root).as_posix()
                if name not in catalog:
                    found[name] = (Path(directory, stem + DATA_SUFFIX), Path(directory, stem + META_SUFFIX))
        return dict(sorted(found.items()))

    def orphan_lines(self) -> list[str]:
        """One line per staged change of a fixture no longer in the catalog (``doit status``, ``validate``)."""
        orphans = self.find_orphans()
        return [
            f"{name}: a staged change of a fixture no longer in the catalog ({self.shown(pair.data_path)}); "
            f"`doit reject {name}` removes it"
            for name, spec, _, _, pair in self.pairs(orphans, orphans=orphans)
            if spec is None
        ]

    def pairs(
        self, names: Iterable[str] | None = None, *, orphans: dict[str, tuple[Path, Path]] | None = None
    ) -> Iterator[tuple[str, FixtureSpec | None, Path, Path, StagedPair]]:
        """Every staged pair of the catalog then every orphan (or of ``names``), unchecked.
        ``orphans``: ``find_orphans``' answer when the caller has it already."""
        wanted = None if names is None else set(names)
        for spec in self.planner.catalog:
            if wanted is not None and spec.name not in wanted:
                continue
            try:
                data_path, meta_path = self.planner.paths(spec)
            except HotDataError:
                continue  # a name that escapes the fixtures root: reported by `doit status`
            pair = inspect_staged(data_path, meta_path)
            if pair is not None:
                yield spec.name, spec, data_path, meta_path, pair
        for name, (data_path, meta_path) in (self.find_orphans() if orphans is None else orphans).items():
            if wanted is not None and name not in wanted:
                continue
            pair = inspect_staged(data_path, meta_path)
            if pair is not None:
                yield name, None, data_path, meta_path, pair

    def changes(
        self, names: Iterable[str] | None = None, *, accepting: Iterable[str] = (), check: bool = True
    ) -> list[StagedChange]:
        """Every staged pair (of ``names``), checked (``check=False``: found only, for rejecting).
        ``accepting``: fixtures accepted together, whose staged data their family's near-duplicate
        gate compares with instead of the committed data."""
        found = list(self.pairs(names))
        together = set(accepting)
        staged_values = {
            name: pair.value for name, _, _, _, pair in found if name in together and not pair.broken
        }
        out = []
        for name, spec, data_path, meta_path, pair in found:
            change = StagedChange(name, data_path, meta_path, pair, self.shown(pair.data_path))
            if spec is None:
                out.append(dataclasses.replace(change, orphan=True))
            elif pair.broken:
                problem = f"staged change is broken: {pair.problem}; fix it or `doit reject {name}`"
                out.append(dataclasses.replace(change, problems=[problem]))
            else:
                out.append(self._checked(spec, change, staged_values) if check else change)
        return out

    def _checked(
        self, spec: FixtureSpec, change: StagedChange, staged_values: dict[str, Any]
    ) -> StagedChange:
        """The checks ``doit validate`` runs, over the staged pair instead of the committed one."""
        pair, name, planner = change.pair, change.name, self.planner
        assert pair.record is not None and pair.raw is not None  # not broken
        problems: list[str] = []
        notes: list[str] = []
        record_name = pair.record.name
        if record_name != name:
            problems.append(f"its record {pair.meta_path.name} names fixture {record_name!r}, not {name!r}")
        status = planner.status(spec, rescan=True)
        if status.state is not FixtureState.PENDING:
            if status.check in _RECORD_IDENTITY_CHECKS and record_name == name:
                problems.append(f"its record {pair.meta_path.name}: {status.reason}")
            elif status.state is FixtureState.STALE:
                why = status.reason.removesuffix(" (replaces the change awaiting review)")
                notes.append(f"stale since it was staged ({why}): the next `doit fixtures` rebuilds it")
        fixture = planner.inputs(spec)
        problems += [f"{change.shown}: {error}" for error in fixture.adapter.errors_for(pair.raw)[:3]]
        if not problems:
            family = {o.name for o in planner.catalog if o.generator is spec.generator and o.name != name}
            siblings = {**planner.family(spec)}
            siblings.update({n: v for n, v in staged_values.items() if n in family})
            try:
                found = check_value(pair.value, fixture.quality, QualityContext(), fixture.checks)
                found += near_duplicates(pair.value, siblings, fixture.quality, self.prose)
            except Exception as exc:  # a user's quality check that raises: the gate cannot pass
                problems.append(f"{change.shown}: {describe_exception(exc, 'a quality check')}")
            else:
                problems += [f"{change.shown}: {p.message} [{p.check}]" for p in found]
        if pair.edited:
            notes.append(
                f"{change.shown} was edited by hand since it was staged: accepting keeps the edit as a "
                "hand edit (its record says so; builds keep it until `doit fixtures force=1`)"
            )
        committed = planner.classifier(spec).classify(name, change.data_path, change.meta_path, staged=False)
        overwrites = ""
        if committed.check == "edited":
            overwrites = (
                f"{self.shown(change.data_path)} was edited by hand since it was generated; accepting "
                f"discards that edit. Keep it: `doit reject {name}`; discard it: `doit accept {name} force=1`"
            )
        try:
            old = json.loads(change.data_path.read_bytes())
        except (OSError, ValueError, RecursionError):
            old = None  # nothing committed yet (or unreadable): everything is added
        return StagedChange(
            name,
            change.data_path,
            change.meta_path,
            pair,
            change.shown,
            diff_values(old, pair.value),
            problems,
            notes,
            overwrites,
        )
