"""The doit face: the tasks a ``dodo.py`` gets, what each command does and prints, ``doit auto``.

``_project`` makes the tasks (``doit_project``); ``_commands`` is ``doit status``,
``validate`` and ``generate``; ``_verify``, ``_prune``, ``_doctor``, ``_review`` (with
``_staged`` and ``_diff``) are the other commands; ``_reporter`` and ``_progress`` print a
build; ``_auto`` (with ``_warm``) is the ``doit auto`` command plugin.
"""

from ._auto import Auto
from ._commands import quality_problems
from ._diff import Change, diff_values, render_changes
from ._project import doit_project
from ._reporter import HotDataReporter
from ._warm import changed

__all__ = [
    "Auto",
    "Change",
    "HotDataReporter",
    "changed",
    "diff_values",
    "doit_project",
    "quality_problems",
    "render_changes",
]
