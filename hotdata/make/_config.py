"""``[tool.hotdata]`` in pyproject.toml, with ``HOTDATA_*`` environment overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._duration import TTL, parse_ttl
from .._env import truthy
from ._errors import ConfigError
from ._quality import QualitySettings

__all__ = ["DEFAULT_MODEL", "HotDataConfig", "RetrySettings", "find_project_root", "load_config"]

DEFAULT_MODEL = "hotdata-local"


class RetrySettings(BaseModel):
    """How hard hotdata tries before a fixture fails."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(4, ge=1, le=20, description="tries of one request on transient faults")
    validation_attempts: int = Field(
        3, ge=1, le=20, description="asks per fixture when answers fail the schema"
    )
    request_timeout: float = Field(120.0, gt=0, description="seconds before one model request is abandoned")
    backoff_initial: float = Field(1.0, ge=0)
    backoff_max: float = Field(30.0, ge=0)


class HotDataConfig(BaseModel):
    """The validated ``[tool.hotdata]`` table."""

    model_config = ConfigDict(extra="forbid")

    root: Path = Field(default=Path("."), exclude=True)
    fixtures_dir: str = "fixtures"
    generators: list[str] = Field(default_factory=lambda: ["generators"])
    templates_dir: str = "generators/templates"
    model: str = DEFAULT_MODEL
    model_options: dict[str, Any] = Field(default_factory=dict)
    llm_plugins: list[str] = Field(default_factory=list)
    ttl: TTL = None
    concurrency: int = Field(8, ge=1, le=256)
    retries: RetrySettings = Field(default_factory=RetrySettings)
    max_calls: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    offline: bool = False
    review: bool = False
    batch: bool = Field(
        False, description="send first requests as provider batch jobs (half the price); a later run collects"
    )
    replay: Literal["auto", "only", "off"] = "auto"
    lock_timeout: float = Field(600.0, ge=0)
    fixture_timeout: float = Field(600.0, gt=0, description="seconds one fixture's generation may take")
    quality: QualitySettings = Field(default_factory=QualitySettings)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: TTL) -> TTL:
        parse_ttl(value)  # raises ValueError with a readable message
        return value

    @property
    def fixtures_path(self) -> Path:
        return self.root / self.fixtures_dir

    @property
    def templates_path(self) -> Path:
        return self.root / self.templates_dir

    @property
    def answers_path(self) -> Path:
        """The committed answer store: ``.answers/`` in the fixtures directory."""
        return self.fixtures_path / ".answers"

    @property
    def batches_path(self) -> Path:
        """Batch jobs waiting to be collected: ``.batches/`` in the fixtures directory."""
        return self.fixtures_path / ".batches"

    @property
    def state_path(self) -> Path:
        """hotdata's local state (build lock, caches): ``.hotdata/`` in the project, never committed."""
        return self.root / ".hotdata"


_ENV: dict[str, str] = {
    "HOTDATA_MODEL": "model",
    "HOTDATA_OFFLINE": "offline",
    "HOTDATA_REVIEW": "review",
    "HOTDATA_BATCH": "batch",
    "HOTDATA_REPLAY": "replay",
    "HOTDATA_CONCURRENCY": "concurrency",
    "HOTDATA_FIXTURES_DIR": "fixtures_dir",
    "HOTDATA_MAX_CALLS": "max_calls",
    "HOTDATA_MAX_TOKENS": "max_tokens",
    "HOTDATA_TTL": "ttl",
}


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding a pyproject.toml (else ``start``)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return here


def load_config(root: Path | None = None, environ: Mapping[str, str] | None = None) -> HotDataConfig:
    """Read ``[tool.hotdata]`` from ``root/pyproject.toml`` and apply ``HOTDATA_*`` overrides.

    Unknown keys and bad values raise ``ConfigError`` naming the key and the file.
    """
    root = find_project_root(root)
    env = os.environ if environ is None else environ
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.is_file():
        try:
            doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None
        table = dict(doc.get("tool", {}).get("hotdata", {}))
    for var, key in _ENV.items():
        value = env.get(var)
        if value is not None and value != "":
            table[key] = truthy(value) if key in ("offline", "review", "batch") else value
    unknown = [k for k in env if k.startswith("HOTDATA_") and k not in _ENV and k not in _OTHER_ENV]
    if unknown:
        raise ConfigError(
            f"unknown environment variable {unknown[0]}; hotdata reads {', '.join(sorted(_ENV))}"
        )
    try:
        config = HotDataConfig.model_validate(table)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(k for k in HotDataConfig.model_fields if k != "root"))
            raise ConfigError(
                f"unknown key '{key}' in [tool.hotdata] of {pyproject}; known keys: {known}"
            ) from None
        raise ConfigError(
            f"[tool.hotdata] {key} in {pyproject} (or its HOTDATA_ variable): {err['msg']}"
        ) from None
    return config.model_copy(update={"root": root})


# Variables read elsewhere (the pytest plugin, the demo, test doubles, doit force).
_OTHER_ENV = frozenset(
    {
        "HOTDATA_FORCE",
        "HOTDATA_STRICT",
        "HOTDATA_DEV",
        "HOTDATA_FAKE_LOG",
        "HOTDATA_FAKE_LATENCY",
        "HOTDATA_FAKE_SCRIPT",
    }
)
