"""Stage 2, generate: turn a planned fixture into a ``Candidate``, writing nothing.

``_runner`` runs the fixture's generator on an event loop of its pool (``_loops``), with
the build's model clients and budget; the generator gets a ``GenerationContext``
(``_context``) that renders templates (``_templates``) and asks the model: for a whole
object under a schema (``_ask``) or for free text, one prose field at a time
(``_write``, ``ctx.write``). Every answer passes validation and the quality gates.
"""

from .._candidate import Candidate, encode_value, make_candidate
from ._ask import Asker, AskPolicy, ReplayMiss
from ._context import GenerationContext
from ._json_answers import extract_json, field_guide, open_pointer, schema_for_model
from ._loops import LoopPool, StuckError
from ._runner import Budget, BudgetExhausted, Runner, describe_exception
from ._templates import TemplateSet
from ._write import clean, trim_phrase, trim_to_sentence

__all__ = [
    "AskPolicy",
    "Asker",
    "Budget",
    "BudgetExhausted",
    "Candidate",
    "GenerationContext",
    "LoopPool",
    "ReplayMiss",
    "Runner",
    "StuckError",
    "TemplateSet",
    "clean",
    "describe_exception",
    "encode_value",
    "extract_json",
    "field_guide",
    "make_candidate",
    "open_pointer",
    "schema_for_model",
    "trim_phrase",
    "trim_to_sentence",
]
