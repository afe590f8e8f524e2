"""Review before accept: ``doit review``, ``doit accept``, ``doit reject``.

With review on (``review = true``, ``doit fixtures review=1``, ``HOTDATA_REVIEW=1``)
a rebuilt fixture is staged as ``NAME.json.new`` and ``NAME.meta.json.new`` beside
the committed pair, which stays untouched. ``doit review`` shows each staged
fixture with why it was rebuilt and a field-level diff, and asks a/r/s (accept,
reject, skip) or A/R/S for all remaining; without a terminal it only prints.

The answers a staged build recorded are staged with it (``<key>.json.new`` in the
answer store): accepting a fixture moves the ones its record used into the store,
rejecting it drops those nothing else uses, so the committed fixtures keep the
answers they were built from.

A decision applies to what the reviewer saw. ``doit review`` (and ``--json``) records
what it listed in ``.hotdata/review.json``, each pair by the digest of its files; accept
and reject then act only on listed pairs still exactly as listed, so a pair a build
staged (or staged again) after the listing stays pending. With nothing listed, a
decision takes what is staged when it starts, before it waits for a running build.
Accept runs ``doit validate``'s checks on the staged pair first (``_staged``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from .._files import ensure_state_dir, write_atomic
from ..answers._store import AnswerStore
from ..commit._writer import Writer
from ._prune import Pruner
from ._staged import StagedChange, StagedChanges

__all__ = ["Review"]

_LISTING = "review.json"


@dataclass
class _Tally:
    decided: list[str]
    left: list[str]  # "NAME: why", one line each


@contextlib.contextmanager
def _keys(stream: TextIO) -> Iterator[Callable[[], str]]:
    """Single key presses without Enter, for the whole review (the terminal is put back after).

    The terminal is switched once, before the first prompt, and without flushing
    (TCSANOW): a key typed right after a prompt must not be thrown away.
    """
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield lambda: os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Review:
    """``doit review``, ``doit accept`` and ``doit reject`` over a project's staged changes.

    Args:
        staged: the staged pairs, found and checked.
        writer: accepts and rejects them, under the build lock.
        answers: the answer store (an accepted fixture's staged answers join it).
        pruner: drops the staged answers a rejection leaves unused.
        state_dir: hotdata's local state, where what ``doit review`` listed is kept.
        force: accept discards a hand edit of the committed data.
    """

    def __init__(
        self,
        staged: StagedChanges,
        writer: Writer,
        answers: AnswerStore,
        pruner: Pruner,
        state_dir: Path,
        *,
        force: bool = False,
    ) -> None:
        self.staged = staged
        self.planner = staged.planner
        self.writer = writer
        self.answers = answers
        self.pruner = pruner
        self.state_dir = state_dir
        self.force = force

    def _listing_path(self) -> Path:
        return self.state_dir / _LISTING

    def _read_listing(self) -> dict[str, str] | None:
        """What ``doit review`` listed last (fixture -> pair digest); None when nothing is listed.

        ``HotDataError`` when the file cannot be trusted: accepting without knowing what was
        shown could accept a pair nobody looked at."""
        path = self._listing_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HotDataError(f"cannot read {path} ({exc.strerror}); run `doit review` again") from None
        try:
            listed = json.loads(raw)["listed"]
            if not isinstance(listed, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in listed.items()
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise HotDataError(
                f"{path} (what `doit review` listed) is not a listing hotdata wrote; run `doit review` again"
            ) from None
        return listed or None

    def _write_listing(self, listed: dict[str, str]) -> None:
        path = self._listing_path()
        try:
            if listed:
                ensure_state_dir(self.state_dir)
                write_atomic(path, json.dumps({"listed": listed}, indent=2, sort_keys=True).encode() + b"\n")
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        except OSError as exc:
            # stderr: `doit review --json` keeps stdout for the listing
            print(
                f"note: cannot record what was listed in {path} ({exc.strerror}); decisions take what is staged",
                file=sys.stderr,
            )
            with contextlib.suppress(OSError):
                path.unlink()

    def _accept_one(self, change: StagedChange, tally: _Tally) -> None:
        name, record = change.name, change.pair.record
        if change.orphan:
            why = f"no fixture named {name!r} is in the catalog any more; `doit reject {name}` removes its staged change"
            tally.left.append(f"{name}: {why}")
            return
        if change.problems:
            more = (
                f" (and {len(change.problems) - 1} more: `doit review` lists them)"
                if len(change.problems) > 1
                else ""
            )
            tally.left.append(f"{name}: {change.problems[0]}{more}")
            return
        if change.overwrites_edit and not self.force:
            tally.left.append(f"{name}: {change.overwrites_edit}")
            return
        assert record is not None  # not broken
        if change.pair.edited:
            record = record.model_copy(
                update={
                    "reason": f"{change.reason}; edited by hand in review ({change.shown}) before it was accepted"
                }
            )
        try:
            done = self.writer.accept(change.data_path, change.meta_path, change.identity, record.to_bytes())
        except OSError as exc:
            where = exc.filename or change.data_path
            tally.left.append(
                f"{name}: cannot write {where} ({exc.strerror or exc}); the committed and the staged pair are kept"
            )
            return
        if not done:
            tally.left.append(
                f"{name}: its staged files changed while it was being accepted; `doit review` shows them"
            )
            return
        tally.decided.append(name)
        self.answers.promote(change.pair.record.answer_digests if change.pair.record else {})
        if change.pair.edited:
            print(
                f"accepted {name} as a hand edit ({change.reason}; builds keep it until `doit fixtures force=1`)"
            )
        else:
            print(f"accepted {name} ({change.reason})")

    def _reject_one(self, change: StagedChange, tally: _Tally) -> None:
        try:
            done = self.writer.reject(change.data_path, change.meta_path, change.identity)
        except OSError as exc:
            tally.left.append(f"{change.name}: cannot remove {exc.filename} ({exc.strerror or exc})")
            return
        if not done:
            tally.left.append(
                f"{change.name}: its staged files changed while it was being rejected; `doit review`"
            )
            return
        tally.decided.append(change.name)
        what = {"orphan": "a fixture no longer in the catalog", "broken": "broken"}.get(
            change.state, change.reason
        )
        print(f"rejected {change.name} ({what})")

    def _finish_interrupted(self) -> None:
        """Finish what a killed build, accept or reject left (the caller holds the build lock)."""
        for spec in self.planner.catalog:
            with contextlib.suppress(HotDataError, OSError):
                self.writer.recover(*self.planner.paths(spec))
        for data_path, meta_path in self.staged.find_orphans().values():
            with contextlib.suppress(OSError):
                self.writer.recover(data_path, meta_path)

    def _decide(self, names: list[str], all_: bool, verb: str) -> bool | TaskFailed:
        if not names and not all_:
            return TaskFailed(
                f"doit {verb} needs fixture names or --all (`doit review` lists what is pending)"
            )
        orphans = self.staged.find_orphans()
        if unknown := [n for n in names if n not in self.planner.catalog and n not in orphans]:
            return TaskFailed(
                f"no fixture named {', '.join(map(repr, unknown))}; `doit list` shows every fixture"
            )
        scope = None if all_ else names
        try:
            listing = self._read_listing()
            if listing is None:  # nothing listed: what is staged now, before waiting for a running build
                seen = {name: pair.identity for name, _, _, _, pair in self.staged.pairs(scope)}
                since = f"`doit {verb}` started"
            else:
                seen, since = listing, "`doit review` listed the pending fixtures"
            self.writer.acquire()
            self._finish_interrupted()
            accepting = verb == "accept"
            changes = self.staged.changes(scope, accepting=seen if accepting else (), check=accepting)
        except HotDataError as exc:
            return TaskFailed(str(exc))
        tally = _Tally([], [])
        for change in changes:
            listed = seen.get(change.name)
            if listed is None:
                tally.left.append(f"{change.name}: staged after {since}; `doit review` shows it")
            elif listed != change.identity:
                tally.left.append(
                    f"{change.name}: changed after {since} (staged again or edited); `doit review` shows it now"
                )
            else:
                (self._accept_one if verb == "accept" else self._reject_one)(change, tally)
        if listing is not None:
            self._write_listing({n: i for n, i in listing.items() if n not in tally.decided})
        if not changes:
            print(f"doit {verb}: nothing is pending review" + ("" if all_ else f" for {', '.join(names)}"))
        if tally.left:
            for line in tally.left:
                print(f"left pending: {line}")
            return TaskFailed(
                f"{len(tally.left)} staged change(s) left pending, {len(tally.decided)} {verb}ed; see above"
            )
        return True

    def accept(self, names: list[str], all_: bool) -> bool | TaskFailed:
        """Replace committed pairs with the staged ones that pass validate's checks (crash-safe, like a build)."""
        return self._decide(names, all_, "accept")

    def reject(self, names: list[str], all_: bool) -> bool | TaskFailed:
        """Delete the staged pairs (broken ones and orphans too) and the staged answers nothing else
        uses; the committed ones stay as they are."""
        decided = self._decide(names, all_, "reject")
        self.pruner.drop_unused_staged()
        return decided

    def review(
        self,
        json_output: bool,
        stdin: TextIO | None = None,
        after_decisions: Callable[[], bool | TaskFailed] | None = None,
    ) -> bool | TaskFailed:
        """List staged fixtures with their diffs; on a terminal, decide each with a key.

        ``after_decisions`` runs once when a fixture was accepted or rejected (the catalog
        document, which said "pending" for them)."""
        stdin = stdin or sys.stdin
        try:
            changes = self.staged.changes()
        except HotDataError as exc:  # e.g. a quality table that does not load
            return TaskFailed(str(exc))
        self._write_listing({c.name: c.identity for c in changes})
        if json_output:
            print(json.dumps([c.to_json() for c in changes], indent=2, ensure_ascii=False))
            return True
        if not changes:
            print("doit review: nothing is pending review")
            return True
        interactive = stdin.isatty() and sys.stdout.isatty()
        if not interactive:
            for i, change in enumerate(changes, 1):
                print(f"\n[{i}/{len(changes)}] " + "\n".join(change.lines()), flush=True)
            print(
                f"\ndoit review: {len(changes)} fixture(s) pending; nothing changed (not a terminal). "
                "Decide with `doit accept NAME...` / `doit reject NAME...` (or --all)."
            )
            return True
        with _keys(stdin) as read_key:
            counts = self._decide_each(changes, read_key)
        if counts["rejected"]:
            self.pruner.drop_unused_staged()
        print(
            "\ndoit review: "
            + ", ".join(f"{n} {what}" for what, n in counts.items() if n or what != "left pending")
        )
        if after_decisions is not None and (counts["accepted"] or counts["rejected"]):
            return after_decisions()
        return True

    def _decide_each(self, changes: list[StagedChange], read_key: Callable[[], str]) -> dict[str, int]:
        sticky = ""  # A, R or S: the decision for every remaining fixture
        counts = {"accepted": 0, "rejected": 0, "skipped": 0, "left pending": 0}
        tally = _Tally([], [])
        for i, change in enumerate(changes, 1):
            print(f"\n[{i}/{len(changes)}] " + "\n".join(change.lines()), flush=True)
            key = sticky
            while key.lower() not in ("a", "r", "s", "q"):
                print(
                    "  a accept · r reject · s skip · A/R/S for all remaining · q quit > ", end="", flush=True
                )
                key = read_key()
                print(key, flush=True)
            if key == "q":
                break
            if key in "ARS":
                sticky = key
            if key.lower() == "s":
                counts["skipped"] += 1
                continue
            left = len(tally.left)
            try:
                self.writer.acquire()
            except HotDataError as exc:
                tally.left.append(f"{change.name}: {exc}")
            else:
                (self._accept_one if key.lower() == "a" else self._reject_one)(change, tally)
            if len(tally.left) > left:
                print(f"  left pending: {tally.left[-1]}", flush=True)
                counts["left pending"] += 1
            else:
                counts["accepted" if key.lower() == "a" else "rejected"] += 1
        listing = {c.name: c.identity for c in changes if c.name not in tally.decided}
        self._write_listing(listing)
        return counts
