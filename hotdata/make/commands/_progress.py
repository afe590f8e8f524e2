"""Progress of a build: a rich bar on a terminal, plain numbered lines otherwise (CI)."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """``[done/total elapsed] text`` lines, or a live bar with lines printed above it."""

    def __init__(self, outstream: TextIO) -> None:
        self.outstream = outstream
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        isatty = getattr(outstream, "isatty", None)
        self.terminal = bool(isatty and isatty())
        self._bar: Any = None
        self._task: Any = None
        self._reader_gone = False  # the reading end of a pipe closed (`| head`): output is dropped

    def start(self, total: int) -> None:
        self.total = total
        if not (total and self.terminal):
            return
        # rich only for a live terminal; plain lines (and no import) otherwise
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]fixtures"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=self.outstream, soft_wrap=True),
            transient=True,
        )
        self._task = self._bar.add_task("", total=total)
        self._bar.start()

    def print(self, text: str) -> None:
        """A line as is (above the bar when there is one).

        When nobody reads the output any more (``doit fixtures | head -1`` ended) the build
        goes on and its lines are dropped: a closed pipe is no failure of the build."""
        if self._reader_gone:
            return
        try:
            if self._bar is not None:
                self._bar.console.print(text, highlight=False, markup=False)
            else:
                self.outstream.write(text + "\n")
                self.outstream.flush()
        except BrokenPipeError:
            self._reader_gone = True
            self._discard_output()

    def _discard_output(self) -> None:
        """Point the stream's file at /dev/null, so what is still buffered (and Python's flush at
        exit) writes nowhere instead of raising BrokenPipeError again."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.outstream.fileno())
            os.close(devnull)

    def line(self, text: str) -> None:
        """A line about one fixture; plain output numbers it ``[done/total elapsed]``."""
        if self._bar is not None:
            self.print(text)
        else:
            self.print(f"[{self.done}/{self.total} {time.monotonic() - self.started:6.1f}s] {text}")

    def working_on(self, name: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=name)

    def advance(self, name: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=name)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
