"""What a JSON Schema node says, read the same way by the generate stage and the quality gates.

>>> schema = {"$defs": {"Mood": {"enum": ["calm", "tense"]}}, "properties": {"m": {"$ref": "#/$defs/Mood"}}}
>>> resolve_ref(schema, schema["properties"]["m"])
{'enum': ['calm', 'tense']}
>>> is_shaped(resolve_ref(schema, schema["properties"]["m"]))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SHAPE_KEYWORDS", "is_shaped", "ref_target", "resolve_ref"]

# A string under one of these is of a fixed form, not free text: no length cap, no prose gate.
SHAPE_KEYWORDS = ("enum", "const", "format", "pattern")


def is_shaped(node: Mapping[str, Any]) -> bool:
    """A string whose form is fixed (an enum, a constant, a format or a pattern)."""
    return any(key in node for key in SHAPE_KEYWORDS)


def ref_target(root: Mapping[str, Any], ref: str) -> Mapping[str, Any] | None:
    """The node a local ``$ref`` points to in ``root`` (``#/$defs/Name``, any JSON pointer);
    None when it is missing or remote (remote references are never followed)."""
    node: Any = root if ref.startswith("#") else None
    for part in ref[1:].split("/")[1:]:
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def resolve_ref(root: Mapping[str, Any], node: Any) -> Any:
    """``node`` itself, or when it is a ``$ref``, what it points to in ``root`` ({} when missing)."""
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    if ref is None:
        return node
    target = ref_target(root, str(ref))
    return {} if target is None else target
