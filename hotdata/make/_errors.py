"""Errors of the build side (all ``HotDataError``s)::

HotDataError
├── ConfigError            bad [tool.hotdata] key or value, bad HOTDATA_* variable
├── CatalogError           a generator module that fails to import, a bad declaration
├── TemplateError          a template that is missing, has a syntax error or an undefined variable
├── MigrationError         `doit migrate` cannot migrate: a path missing, a --fn that fails, data the schema refuses
└── GenerationError        a generator that raised or a model answer that never validated
    ├── ModelError         the model could not be called (offline, key, network, budget)
    ├── SampleError        ctx.sample called with what it cannot draw from (no weights, a range backwards)
    └── AnswerError        fixtures/.answers cannot be used: a path in the way, an unreadable file
        ├── DamagedAnswer  a recorded answer that is truncated, empty, conflicted or mistyped
        └── ChangedAnswer  a recorded answer that is not the one its fixture was built from
"""

from __future__ import annotations

from .._errors import HotDataError

__all__ = [
    "AnswerError",
    "CatalogError",
    "ChangedAnswer",
    "ConfigError",
    "DamagedAnswer",
    "GenerationError",
    "MigrationError",
    "ModelError",
    "SampleError",
    "TemplateError",
]


class ConfigError(HotDataError, ValueError):
    """The [tool.hotdata] table or a HOTDATA_* variable is wrong."""


class CatalogError(HotDataError):
    """A generator module or fixture declaration is wrong."""


class TemplateError(HotDataError):
    """A prompt template cannot be found, parsed or rendered."""


class MigrationError(HotDataError):
    """``doit migrate`` cannot migrate the selected fixtures; none of them was written."""


class GenerationError(HotDataError):
    """Generating one fixture failed; its previous files are untouched."""


class ModelError(GenerationError):
    """A model call failed (offline mode, missing key, network, budget)."""


class SampleError(GenerationError):
    """A ``ctx.sample`` sampler was called with arguments it cannot draw from."""


class AnswerError(GenerationError):
    """The answer store cannot be used as it is; nothing was asked of the model."""


class DamagedAnswer(AnswerError):
    """A recorded answer file that is not an answer any more (truncated, emptied, conflicted, edited)."""


class ChangedAnswer(AnswerError):
    """A recorded answer whose digest differs from the one its fixture's record was built from."""
