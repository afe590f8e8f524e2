"""Field-scoped repair: a value the quality gates refuse at a few fields is mended there.

An answer that parses and validates but is refused at, say, ``/reviews/2/text`` keeps every
other field: the model is asked again for that JSON pointer only, under the field's own
schema, with the rest of the value as context (the refused text itself is left out, so it
cannot be copied back). The mended value is validated and gated whole again. A refusal of
the whole value (a user check without a pointer, a secret in a key), or of more fields than
``MAX_FIELDS``, is asked again whole: past that, one answer is cheaper than many.

What a repair cost, and what the whole answer it replaced cost, is kept (``Repair``) so a
record says how many output tokens repairing saved against asking again whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..quality._leaves import schema_for_pointer
from ..quality._settings import QualityProblem

__all__ = [
    "MAX_FIELDS",
    "field_schema",
    "refused_fields",
    "repair_prompt",
    "splice",
    "unwrap",
]

# More refused fields than this and the value is asked again whole.
MAX_FIELDS = 3


def refused_fields(problems: Sequence[QualityProblem]) -> dict[str, list[str]] | None:
    """The outermost refused pointers and their reasons, in pointer order; None when a problem
    is about the whole value, or too many fields are refused to mend one by one."""
    if not problems or any(not p.pointer for p in problems):
        return None
    fields: dict[str, list[str]] = {}
    for pointer in sorted({p.pointer for p in problems}, key=_steps):
        if not any(_within(pointer, outer) for outer in fields):
            fields[pointer] = []
    for problem in problems:
        outer = next(f for f in fields if _within(problem.pointer, f))
        fields[outer].append(problem.message)
    return fields if len(fields) <= MAX_FIELDS else None


def field_schema(asked: Mapping[str, Any], pointer: str) -> dict[str, Any] | None:
    """The schema of the value at ``pointer`` inside ``asked`` (the schema the model was asked
    with), standing alone: its ``$defs`` come along for the references inside it."""
    found = schema_for_pointer(asked, pointer)
    if not found:
        return None
    schema = dict(found[0]) if len(found) == 1 else {"anyOf": [dict(s) for s in found]}
    if "$defs" in asked:
        schema["$defs"] = asked["$defs"]
    return schema


def splice(data: Any, pointer: str, value: Any) -> Any:
    """A copy of ``data`` with ``value`` at ``pointer`` (whose parent must exist; an object that
    lacks the key gains it, last)."""
    steps = _steps(pointer)
    if not steps:
        return copy.deepcopy(value)
    whole = copy.deepcopy(data)
    node = whole
    for step in steps[:-1]:
        node = node[int(step)] if isinstance(node, list) else node[step]
    last = steps[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return whole


def unwrap(answer: Any, pointer: str, schema: Mapping[str, Any]) -> Any:
    """The field's value from an answer that wrapped it, as models often do: the whole value
    again, or ``{"<field>": value}``. An answer of an object schema is taken as it is."""
    if not isinstance(answer, dict) or _takes_object(schema):
        return answer
    steps = _steps(pointer)
    for path in (steps, steps[-1:]):
        node: Any = answer
        for step in path:
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                break
        else:
            return node
    return answer


def repair_prompt(
    prompt: str, data: Any, pointer: str, reasons: Sequence[str] | None, schema_text: str | None
) -> str:
    """The prompt that asks for the value at ``pointer`` alone: the original prompt, the value
    so far with that field blanked (null), what was wrong (``reasons``, for a model that reads
    feedback without copying it) and, for a model that does not take a schema, the field's."""
    shown = splice(data, pointer, None)
    text = (
        f"{prompt}\n\nThe answer so far, as JSON (the field {pointer} is to be written again; it "
        f"is null here):\n{json.dumps(shown, ensure_ascii=False, indent=1)}\n\n"
        f"Write only the new value of {pointer}, as one JSON value."
    )
    if reasons:
        text += "\n\nThe previous value was not accepted:\n" + "\n".join(f"- {r}" for r in reasons[:5])
    if schema_text:
        text += f"\n\nIt must match this JSON Schema:\n{schema_text}"
    return text


def _takes_object(schema: Mapping[str, Any]) -> bool:
    branches = [schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return any(
        isinstance(b, Mapping) and (b.get("type") == "object" or "properties" in b or "$ref" in b)
        for b in branches
    )


def _steps(pointer: str) -> list[str]:
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]] if pointer else []


def _within(pointer: str, outer: str) -> bool:
    return pointer == outer or pointer.startswith(outer + "/")
