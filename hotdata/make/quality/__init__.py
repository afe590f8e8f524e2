"""Quality gates: pydantic decides whether a value is valid; these decide whether it is good.

``_gates`` judges each string of a value (truncated, repeated, echo, degenerate) and runs
the user's checks (``_settings``: what the gates are told); ``_similar`` compares the
variants of one fixture family (near-duplicate); ``_leaves`` walks a JSON value's strings
with the schema of each; ``_text`` is how both read text (words, sentences, shingles), the
prose path of the generate stage included.

    >>> from hotdata.make.quality import QualitySettings, check_value
    >>> print(check_value({"summary": "Kestrel stares at a map of"}, QualitySettings())[0])
    /summary stops mid-sentence: ends on 'of' ('Kestrel stares at a map of') [truncated]
"""

from typing import TYPE_CHECKING

from ..._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._gates import check_value
    from ._leaves import Leaf, as_json, iter_strings, schema_for_pointer, walk
    from ._settings import (
        BUILTIN_CHECKS,
        DEFAULT_CHECKS,
        DEFAULT_FEEDBACK_MARKERS,
        QUALITY_VERSION,
        CheckName,
        ConversationFields,
        QualityConfigError,
        QualityContext,
        QualityProblem,
        QualitySettings,
        UserCheck,
        load_user_checks,
        user_check,
    )
    from ._similar import FamilyProse, near_duplicates, similarity
    from ._text import is_prose, open_quote, split_sentences, words

# Each public name and its submodule, imported on first use: a no-op run or `doit status`
# that finds every fixture fresh by the local index never runs a gate.
_LAZY = {
    "check_value": "_gates",
    "Leaf": "_leaves",
    "as_json": "_leaves",
    "iter_strings": "_leaves",
    "schema_for_pointer": "_leaves",
    "walk": "_leaves",
    "BUILTIN_CHECKS": "_settings",
    "DEFAULT_FEEDBACK_MARKERS": "_settings",
    "QUALITY_VERSION": "_settings",
    "CheckName": "_settings",
    "ConversationFields": "_settings",
    "DEFAULT_CHECKS": "_settings",
    "QualityConfigError": "_settings",
    "QualityContext": "_settings",
    "QualityProblem": "_settings",
    "QualitySettings": "_settings",
    "UserCheck": "_settings",
    "load_user_checks": "_settings",
    "user_check": "_settings",
    "FamilyProse": "_similar",
    "near_duplicates": "_similar",
    "similarity": "_similar",
    "is_prose": "_text",
    "open_quote": "_text",
    "split_sentences": "_text",
    "words": "_text",
}

__all__ = [
    "BUILTIN_CHECKS",
    "DEFAULT_CHECKS",
    "DEFAULT_FEEDBACK_MARKERS",
    "QUALITY_VERSION",
    "CheckName",
    "ConversationFields",
    "FamilyProse",
    "Leaf",
    "QualityConfigError",
    "QualityContext",
    "QualityProblem",
    "QualitySettings",
    "UserCheck",
    "as_json",
    "check_value",
    "is_prose",
    "iter_strings",
    "load_user_checks",
    "near_duplicates",
    "open_quote",
    "schema_for_pointer",
    "similarity",
    "split_sentences",
    "user_check",
    "walk",
    "words",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
