"""What the quality gates are told: their settings, what they compare a value with, what
they report, and the user's own checks.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "QUALITY_VERSION",
    "ConversationFields",
    "BUILTIN_CHECKS",
    "CheckName",
    "DEFAULT_CHECKS",
    "DEFAULT_FEEDBACK_MARKERS",
    "QualityConfigError",
    "QualityContext",
    "QualityProblem",
    "QualitySettings",
    "UserCheck",
    "load_user_checks",
    "user_check",
]

# Bump when a built-in check changes what it refuses: records that passed older gates are re-checked.
QUALITY_VERSION = 1

CheckName = Literal[
    "truncated", "repeated", "echo", "degenerate", "near-duplicate", "placeholder", "meta", "names", "roles"
]
BUILTIN_CHECKS: tuple[CheckName, ...] = get_args(CheckName)
# `names` is opt-in: realistic text invents people's names, and its precision was first measured
# below the 0.9 on held-out text (see hotdata/make/quality/_names.py and the bench).
DEFAULT_CHECKS: tuple[CheckName, ...] = tuple(c for c in BUILTIN_CHECKS if c != "names")

# Phrases only hotdata's own re-ask prompts and error messages contain (see generate/_ask.py
# and hotdata/_schema.py); a value containing one is a copy of the feedback, never data.
DEFAULT_FEEDBACK_MARKERS: tuple[str, ...] = (
    "at (root):",
    "previous answer did not validate",
    "answer again with one json value",
    "matching this json schema",
    "invalid json: control character",
    "invalid json: eof while parsing",
    "found while parsing a string at line",
    "tighten the template",
)


class QualityConfigError(ValueError):
    """A ``[tool.hotdata.quality]`` table, a ``quality=`` override or a user check is wrong."""


@dataclass(frozen=True)
class QualityProblem:
    """One gate failure: where, which check, and why in words."""

    pointer: str  # RFC 6901 pointer of the value ("" = the whole value)
    check: str  # a built-in check's name or a user check's name
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.check}]"


class ConversationFields(BaseModel):
    """The keys of one conversation's items: ``{role = "speaker", text = "says"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = "role"
    text: str = "text"


class QualitySettings(BaseModel):
    """``[tool.hotdata.quality]`` in pyproject.toml, or ``quality=`` on one fixture."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    checks: list[CheckName] = Field(default_factory=lambda: list(DEFAULT_CHECKS))
    prose_min_words: int = Field(4, ge=1, description="a string with fewer words is a label, not prose")
    repeat_ngram: int = Field(5, ge=2, description="length of the word runs counted for repetition")
    repeat_max: int = Field(2, ge=1, description="times a word run may appear in one value")
    echo_min_words: int = Field(10, ge=3, description="words in a row copied from the prompt that are echo")
    degenerate_max_symbol_ratio: float = Field(
        0.35, gt=0, le=1, description="share of digits and odd symbols (@ $ % = …) over which prose is junk"
    )
    near_duplicate_threshold: float = Field(
        0.5, gt=0, le=1, description="word 3-shingle Jaccard over which two texts say the same thing"
    )
    names: list[str] = Field(
        default_factory=list, description="proper names the data may use that no prompt or field supplies"
    )
    roles: dict[str, ConversationFields] = Field(
        default_factory=dict,
        description="conversations: array pointer (globs) -> its items' role and text keys",
    )
    custom: list[str] = Field(default_factory=list, description='user checks, "module:function"')
    ignore: list[str] = Field(default_factory=list, description="pointers (shell-style) never reported")

    @field_validator("custom")
    @classmethod
    def _module_function(cls, value: list[str]) -> list[str]:
        for entry in value:
            _split_entry(entry)
        return value

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], where: str = "[tool.hotdata.quality]") -> QualitySettings:
        """Settings from a TOML table; an unknown key or a bad value raises ``QualityConfigError``."""
        try:
            return cls.model_validate(dict(table))
        except ValidationError as exc:
            parts = [
                f"{'.'.join(map(str, e['loc'])) or '(table)'}: "
                + ("unknown key" if e["type"] == "extra_forbidden" else e["msg"])
                for e in exc.errors(include_url=False)
            ]
            known = ", ".join(cls.model_fields)
            raise QualityConfigError(f"{where}: {'; '.join(parts)} (known keys: {known})") from None

    def merged(self, overrides: Mapping[str, Any], *, where: str = "quality=") -> QualitySettings:
        """These settings with a fixture's overrides applied (``{"prose_min_words": 6}``)."""
        return type(self).from_mapping({**self.model_dump(), **overrides}, where=where)

    def reported(self, problems: Iterable[QualityProblem]) -> list[QualityProblem]:
        """``problems`` without those at a pointer ``ignore`` names."""
        return [p for p in problems if not any(fnmatch.fnmatchcase(p.pointer, pat) for pat in self.ignore)]


@dataclass(frozen=True)
class QualityContext:
    """What the gates may compare the data with."""

    prompt: str | None = None  # what the model was asked (for echo)
    json_schema: Mapping[str, Any] | None = None  # maxLength, enum and format per pointer
    secrets: Sequence[str] = ()  # values that must never appear in the data
    feedback_markers: Sequence[str] = DEFAULT_FEEDBACK_MARKERS
    # prompts by the call that asked them ("ctx.write at gens/x.py:12"): echo names which one
    prompts: Sequence[tuple[str, str]] = ()
    # material given to the model to build on: the fixture's own accepted answers and ctx's
    # ``context=``. Words of the prompt that come from it are not an echo when copied.
    context: Sequence[str] = ()


UserCheck = Callable[[Any, QualityContext], Iterable[QualityProblem | str]]


def load_user_checks(paths: Sequence[str]) -> list[UserCheck]:
    """Import ``"module:function"`` entries; ``QualityConfigError`` names a bad one."""
    checks: list[UserCheck] = []
    for entry in paths:
        module_name, attribute = _split_entry(entry)
        try:
            obj: Any = importlib.import_module(module_name)
        except Exception as exc:
            raise QualityConfigError(
                f"quality check {entry!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
                "make it importable from the project root or fix the name in [tool.hotdata.quality] custom"
            ) from exc
        obj = getattr(obj, attribute, None)
        if obj is None:
            raise QualityConfigError(f"quality check {entry!r} is missing, not a function (data, context)")
        checks.append(user_check(obj, repr(entry)))
    return checks


def user_check(obj: Any, label: str) -> UserCheck:
    """``obj`` when hotdata can call it as ``check(data, context)``; ``QualityConfigError`` naming
    ``label`` otherwise, so a wrong check stops the catalog once instead of failing every fixture."""
    if not callable(obj) or isinstance(obj, type):
        raise QualityConfigError(
            f"quality check {label} is a {type(obj).__name__}, not a function (data, context)"
        )
    if inspect.iscoroutinefunction(obj):
        raise QualityConfigError(
            f"quality check {label} is an 'async def' function; write it as a plain def check(data, context)"
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin without a signature: trusted
        return cast(UserCheck, obj)
    try:
        signature.bind(None, None)
    except TypeError:
        raise QualityConfigError(
            f"quality check {label} takes {signature}, but hotdata calls it as check(data, context) "
            "and expects a list of problems (str or QualityProblem)"
        ) from None
    return cast(UserCheck, obj)


def _split_entry(entry: str) -> tuple[str, str]:
    module_name, _, attribute = entry.partition(":")
    if not module_name.strip() or not attribute.strip():
        raise QualityConfigError(
            f"quality check {entry!r}: expected 'module:function' (e.g. 'checks:no_lorem')"
        )
    return module_name.strip(), attribute.strip()
