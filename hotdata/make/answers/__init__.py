"""Recorded answers: every model request and its answer, recorded once and replayed.

``_store`` is the answer store under ``fixtures/.answers/`` (committed); ``_index`` knows
which fixture each recorded answer belongs to, so a question about one fixture reads
only its files.
"""

from ._index import AnswerIndex
from ._store import (
    ANSWERS_DIR,
    AnswerFile,
    AnswerStore,
    StoredAnswer,
    answer_digest,
    request_key,
)

__all__ = [
    "ANSWERS_DIR",
    "AnswerFile",
    "AnswerIndex",
    "AnswerStore",
    "StoredAnswer",
    "answer_digest",
    "request_key",
]
