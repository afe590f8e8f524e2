"""Free text from the embedded model: how a 135M model writes prose worth showing.

Measured in the lab (the closing note of the quality issue has the figures): inside
a JSON grammar SmolLM2-135M cuts prose at ``maxLength`` or loops; as free text,
with the answer started for it and these sampling controls, it writes coherent,
specific sentences:

* the chat template written out with the assistant's turn *pre-filled* by the
  opener ("Vesper feels"), which pins subject and topic and rules out "Sure! Here is";
* a repetition penalty over the generated tokens only, that never penalises the
  names it was given, punctuation or function words (llama.cpp's own penalty
  mangles "Vesper" into "Vespure" on its second mention);
* no repeated word trigram; no digit tokens and no non-ASCII tokens in prose (the
  model's numbers in prose are junk: "400,371,887");
* a stop after the wanted number of sentences, or at the end of the line.

Deterministic for a seed, a model file, a llama.cpp build and a thread count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["banned_tokens", "complete_prose"]

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"  # the template's own
_FUNCTION_WORDS = [
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "by",
    "from",
    "as",
    "that",
    "is",
    "are",
    "was",
    "were",
    "be",
    "it",
    "its",
    "his",
    "her",
    "their",
    "she",
    "he",
    "they",
    "we",
    "i",
    "my",
    "our",
    "this",
    "than",
    "then",
    "not",
    "no",
    "so",
    "if",
    "when",
    "while",
    "into",
    "over",
    "about",
]
_REPEAT_PENALTY = 1.3
_NO_REPEAT_NGRAM = 3
_SAMPLING = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05}


def chatml(instruction: str, prefill: str, system: str | None) -> str:
    """SmolLM2's chat template, with the assistant's answer already begun by ``prefill``."""
    head = f"<|im_start|>system\n{system or SYSTEM}<|im_end|>\n"
    return f"{head}<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n{prefill}"


def banned_tokens(llama: Any) -> list[int]:
    """Token ids whose text holds a digit or a non-ASCII byte (a scan of the vocabulary:
    the engine computes it once per loaded model)."""
    specials = {llama.token_bos(), llama.token_eos()}
    banned = []
    for token in range(llama.n_vocab()):
        if token in specials:
            continue
        raw = llama.detokenize([token])
        piece = raw.decode("utf-8", "ignore")
        if any(ch.isdigit() or ch.isnumeric() for ch in piece) or any(b >= 0x80 for b in raw):
            banned.append(token)
    return banned


class _Guard:
    """Logits processor: repetition penalty on generated tokens only, trigram blocking, banned tokens."""

    def __init__(self, llama: Any, n_prompt: int, protect: Sequence[str], banned: Sequence[int]) -> None:
        import numpy as np

        self.n_prompt = n_prompt
        exempt: set[int] = set()
        for word in [*_FUNCTION_WORDS, *protect, ".", ",", "'s", "'", '"', "!", "?", ";", ":", "-"]:
            for variant in (word, " " + word, word.capitalize(), " " + word.capitalize()):
                exempt.update(llama.tokenize(variant.encode(), add_bos=False, special=False))
        self.exempt = exempt
        self.banned = np.array(banned, dtype=np.intc)
        self.minus_inf = -np.inf

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        generated = [int(t) for t in input_ids[self.n_prompt :]]
        for token in set(generated) - self.exempt:
            value = scores[token]
            scores[token] = value / _REPEAT_PENALTY if value > 0 else value * _REPEAT_PENALTY
        n = _NO_REPEAT_NGRAM
        if len(generated) >= n:
            tail = tuple(generated[len(generated) - n + 1 :])
            for i in range(len(generated) - n + 1):
                if tuple(generated[i : i + n - 1]) == tail:
                    scores[generated[i + n - 1]] = self.minus_inf
        if len(self.banned):
            scores[self.banned] = self.minus_inf
        return scores


class _SentenceStop:
    """Stop once the answer (opener included) has ``n`` sentence ends outside quotation marks."""

    def __init__(self, llama: Any, n_prompt: int, n: int) -> None:
        self.llama, self.n_prompt, self.n = llama, n_prompt, n

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        text = self.llama.detokenize([int(t) for t in input_ids[self.n_prompt :]]).decode("utf-8", "ignore")
        if "\n" in text:
            return True
        return sentence_ends(text) >= self.n


# Words whose stop is not a sentence end ("Dr. Moreau", "Mrs. Lee"). The plugin imports nothing
# from the build side, so this is its own short list beside the gates' splitter.
_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs", "fig", "inc", "ltd", "co"]
)


def sentence_ends(text: str) -> int:
    """Sentence ends in ``text`` outside quotation marks; a stop after an abbreviation or an
    initial ("Dr.", "J.") is not one, nor a decimal point."""
    ends = 0
    for match in re.finditer(r"[A-Za-z)\"'\u201d][.!?][\"'\u201d\u2019)]?(?=\s|$)", text):
        if text[match.start() + 1] == ".":
            word = re.search(r"[A-Za-z]+$", text[: match.start() + 1])
            if word is not None and (word.group().lower() in _ABBREVIATIONS or len(word.group()) == 1):
                continue
        quoted = text[: match.end()]
        if (quoted.count('"') + quoted.count("\u201c") + quoted.count("\u201d")) % 2 == 0:
            ends += 1
    return ends


def complete_prose(
    llama: Any,
    instruction: str,
    *,
    prefill: str,
    system: str | None,
    sentences: int | None,
    one_line: bool,
    protect: Sequence[str],
    max_tokens: int,
    seed: int | None,
    temperature: float | None,
    banned: Sequence[int],
) -> tuple[str, int, int, str]:
    """``prefill`` continued as free text: (text, prompt tokens, completion tokens, finish reason)."""
    from llama_cpp import LogitsProcessorList, StoppingCriteriaList

    # the opener counts as generated text, for the repetition controls and the sentence stop
    n_prompt = len(llama.tokenize(chatml(instruction, "", system).encode(), add_bos=False, special=True))
    stops = StoppingCriteriaList([_SentenceStop(llama, n_prompt, sentences or 1)])
    sampling = dict(
        _SAMPLING, temperature=temperature if temperature is not None else _SAMPLING["temperature"]
    )
    result = llama.create_completion(
        prompt=chatml(instruction, prefill, system),
        max_tokens=max_tokens,
        seed=seed,
        repeat_penalty=1.0,  # the guard's own penalty spares names and function words
        stop=["<|im_end|>", "<|im_start|>", "\n\n"] + (["\n"] if one_line else []),
        logits_processor=LogitsProcessorList([_Guard(llama, n_prompt, protect, banned)]),
        stopping_criteria=stops,
        **sampling,
    )
    choice = result["choices"][0]
    usage = result.get("usage") or {}
    return (
        prefill + (choice["text"] or ""),
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        choice.get("finish_reason") or "stop",
    )
