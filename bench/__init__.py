"""hotdata's benchmarks: each prints its figure beside a floor measured in the same run."""

import os


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without HOTDATA_ settings (each benchmark sets its own),
    and with bytecode caching on, as a user runs: PYTHONDONTWRITEBYTECODE (set on some CI
    and sandbox machines) made every process compile hotdata's modules from source, ~0.1 s
    the floors (doit, openai: their caches were written at install) never paid."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(extra)
    return env
