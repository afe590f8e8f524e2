"""Stage 2, generate: turn a ``FixturePlan`` into a ``Candidate``, writing nothing.

``CandidateMaker`` (``_maker``) runs the fixture's generator on an event loop of its pool
(``_loops``); the generator gets a ``GenerationContext`` (``_context``) that renders
templates (``_templates``) and asks the model, through one ``Asker`` (``_ask``): for a whole
object under a schema, or for free text, one prose field at a time (``_write``,
``ctx.write``). Both paths build their requests from the plan (``_requests``), ask in JSON
the same way (``_json_answers``) and get their answers from one ``AnswerSource``
(``_answering``: recorded, on their way in a batch, or asked under the run's budget). Every
answer passes validation and the quality gates; then a judge model may answer yes/no
questions about the whole value (``_judge``, ``judge=``), and a "no" is a refusal too.
``CandidateMaker.sample`` runs a generator once and gates its value without making a
candidate (``doit preview``; the judge is not asked).
"""

from .._candidate import Candidate, Tally, encode_value, make_candidate
from ._answering import Answer, AnswerDeferred, AnswerSource, Budget, BudgetExhausted, Detour, ReplayMiss
from ._ask import Asker
from ._context import GenerationContext
from ._json_answers import extract_json, field_guide, open_pointer, schema_for_model
from ._judge import JUDGE_SCHEMA, JUDGE_SYSTEM, Judge, judge_prompt, parse_verdict, refusal
from ._loops import LoopPool, StuckError
from ._maker import CandidateMaker, Sample, describe_exception
from ._requests import PREVIEW_ROUND, RequestBuilder
from ._sample import FAKER, Address, Person, Sampler
from ._templates import TemplateSet
from ._write import clean, trim_phrase, trim_to_sentence

__all__ = [
    "FAKER",
    "PREVIEW_ROUND",
    "Address",
    "Answer",
    "AnswerDeferred",
    "AnswerSource",
    "Asker",
    "Budget",
    "BudgetExhausted",
    "Candidate",
    "CandidateMaker",
    "Detour",
    "GenerationContext",
    "JUDGE_SCHEMA",
    "JUDGE_SYSTEM",
    "Judge",
    "LoopPool",
    "Person",
    "ReplayMiss",
    "RequestBuilder",
    "Sample",
    "Sampler",
    "StuckError",
    "Tally",
    "TemplateSet",
    "clean",
    "describe_exception",
    "encode_value",
    "extract_json",
    "field_guide",
    "judge_prompt",
    "make_candidate",
    "open_pointer",
    "parse_verdict",
    "refusal",
    "schema_for_model",
    "trim_phrase",
    "trim_to_sentence",
]
