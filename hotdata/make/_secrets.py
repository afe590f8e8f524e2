"""Keeping secrets out of every message hotdata prints or records."""

from __future__ import annotations

import json
import os
import re

__all__ = ["redact", "secret_values"]

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|AUTH)", re.IGNORECASE)


def secret_values() -> list[str]:
    """Every secret value hotdata knows: env values whose names look secret, llm's stored keys."""
    values = [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8]
    try:
        import llm

        keys_path = llm.user_dir() / "keys.json"  # type: ignore[no-untyped-call]
        if keys_path.exists():
            stored = json.loads(keys_path.read_text())
            values += [v for v in stored.values() if isinstance(v, str) and len(v) >= 8]
    except Exception:  # a missing or odd key store must not break error reporting
        pass
    return sorted(set(values), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every known secret value and bearer token replaced by ``***``."""
    for value in secret_values():
        text = text.replace(value, "***")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)
