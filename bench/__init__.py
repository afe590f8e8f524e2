"""hotdata's benchmarks: each prints its figure beside a floor measured in the same run."""

import os


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without HOTDATA_ settings (each benchmark sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    env.update(extra)
    return env
