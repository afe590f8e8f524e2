"""Keeping secrets out of every message hotdata prints and every file it writes.

Secret values are: environment values whose names look secret (``*_KEY``,
``*_TOKEN`` ...), the keys in ``llm``'s key store, and the API keys and header
values configured for OpenAI-compatible models in ``llm``'s
``extra-openai-models.yaml``. ``redact`` blanks them in text; ``mask_secrets``
replaces option and parameter values that are secrets with a marker, so they are
never recorded, printed or hashed into a fingerprint in clear.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "SECRET_MARK",
    "blank",
    "mask_secrets",
    "public_options",
    "redact",
    "secret_at",
    "secret_values",
]

SECRET_MARK = "<secret>"
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|AUTH)", re.IGNORECASE)
# Option and parameter names whose values are credentials (llm takes the API key as `key`).
_SECRET_NAME = re.compile(r"(^key$|api_?key|_key$|token|secret|password|passwd|auth|credential)", re.I)


def _llm_user_dir() -> Path:
    explicit = os.environ.get("LLM_USER_PATH")
    if explicit:
        return Path(explicit)
    import click  # what llm itself uses to find its directory, without importing llm

    return Path(click.get_app_dir("io.datasette.llm"))


def _configured_secrets(user_dir: Path) -> list[str]:
    values: list[str] = []
    keys_path = user_dir / "keys.json"
    if keys_path.exists():
        stored = json.loads(keys_path.read_text())
        values += [v for v in stored.values() if isinstance(v, str)]
    extra = user_dir / "extra-openai-models.yaml"
    if extra.exists():
        import yaml  # type: ignore[import-untyped]

        for entry in yaml.safe_load(extra.read_text()) or []:
            if isinstance(entry, dict):
                values += [str(v) for v in (entry.get("headers") or {}).values()]
                if isinstance(entry.get("api_key"), str):
                    values.append(entry["api_key"])
    return values


def secret_values() -> list[str]:
    """Every secret value hotdata knows, longest first (so a longer one is blanked whole)."""
    values = [v for k, v in os.environ.items() if _SECRET_ENV.search(k)]
    with contextlib.suppress(Exception):  # a missing or odd llm configuration must not break reporting
        values += _configured_secrets(_llm_user_dir())
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def blank(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (and nothing else touched)."""
    for value in secrets:
        text = text.replace(value, "***")
    return text


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every known secret value and bearer token replaced by ``***``."""
    text = blank(text, secret_values() if secrets is None else secrets)
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)


def mask_secrets(value: Any, secrets: list[str]) -> Any:
    """``value`` with credentials replaced by ``SECRET_MARK``: values under secret-looking
    names (``key``, ``api_key``, ``token`` ...) and any string holding a known secret."""
    if isinstance(value, dict):
        return {
            k: SECRET_MARK
            if _SECRET_NAME.search(str(k)) and v not in (None, "")
            else mask_secrets(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(v, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return SECRET_MARK
    return value


def public_options(options: Mapping[str, Any], secrets: list[str]) -> dict[str, Any]:
    """``options`` without the credentials (masked by name and by value): what a request key is
    computed from and what the answer store and batch job files record."""
    return {k: v for k, v in mask_secrets(dict(options), secrets).items() if v != SECRET_MARK}


def secret_at(data: Any, secrets: Sequence[str]) -> str | None:
    """The pointer of the first key or string of ``data`` that holds one of ``secrets`` (None:
    none does); ``"/"`` for a string that is the whole data.

    >>> secret_at({"talks": [{"title": "key sk-0123456789"}]}, ["sk-0123456789"])
    '/talks/0/title'
    """
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:  # not recursive: a function may return data nested deeper than the stack
        at, value = stack.pop()
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if any(s in str(key) for s in secrets):
                    return _pointer((*at, str(key)))
                stack.append(((*at, str(key)), item))
        elif isinstance(value, list):
            stack += [((*at, str(i)), item) for i, item in reversed(list(enumerate(value)))]
        elif isinstance(value, str) and any(s in value for s in secrets):
            return _pointer(at) or "/"
    return None


def _pointer(parts: Iterable[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
