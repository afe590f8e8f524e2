"""The doit face: the tasks a ``dodo.py`` gets, what each command does and prints, ``doit auto``.

``_project`` makes the tasks (``doit_project``); ``_commands`` is ``doit status``,
``validate``, ``generate`` and ``stats`` (``_stats`` gathers its figures, ``_stats_text`` prints
them, ``_stats_page`` draws the ``--html`` page); ``_verify``, ``_prune``, ``_doctor``, ``_preview``, ``_migrate``, ``_review``
(with ``_staged`` and ``_diff``) are the other commands; ``_reporter`` and ``_progress`` print a
build; ``_auto`` (with ``_warm``) is the ``doit auto`` command plugin.
"""

from typing import TYPE_CHECKING

from ..._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._auto import Auto
    from ._commands import quality_problems
    from ._diff import Change, diff_values, render_changes
    from ._noop import doit_project
    from ._reporter import HotDataReporter
    from ._warm import changed

# Each public name and its submodule, imported on first use: doit loads ``Auto`` (its
# ``doit.COMMAND`` plugin) in every run, and a no-op build must stay light.
_LAZY = {
    "Auto": "_auto",
    "quality_problems": "_commands",
    "Change": "_diff",
    "diff_values": "_diff",
    "render_changes": "_diff",
    "doit_project": "_noop",
    "HotDataReporter": "_reporter",
    "changed": "_warm",
}

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


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
