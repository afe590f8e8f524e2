"""``[tool.hotdata]`` in pyproject.toml, with ``HOTDATA_*`` environment overrides.

Values are taken as written, never coerced: ``concurrency = true`` is not 1, ``offline =
"y"`` is not a switch, a number of seconds is finite and bounded (an infinite timeout
overflows the event loop, an endless ttl the calendar).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._duration import TTL, parse_ttl
from .._env import env_switch, parse_switch
from .._errors import SwitchError
from ._errors import ConfigError
from ._files import find_project_root
from ._spec import json_problem
from .quality._settings import QualitySettings

__all__ = [
    "DEFAULT_MODEL",
    "ReplayMode",
    "MAX_PREVIEW_SAMPLES",
    "RUN_SWITCHES",
    "HotDataConfig",
    "JudgeSettings",
    "RetrySettings",
    "RunSwitches",
    "find_project_root",
    "load_config",
    "read_run_switches",
]

DEFAULT_MODEL = "hotdata-local"
# Recorded answers: `auto` replays and asks on a miss, `only` fails on a miss, `off` always asks.
ReplayMode = Literal["auto", "only", "off"]
_REPLAY_MODES: tuple[str, ...] = get_args(ReplayMode)
# Seconds: a day bounds one request, a week anything else (a build, a wait for the lock).
_DAY = 86_400.0
_WEEK = 7 * _DAY


class RetrySettings(BaseModel):
    """How hard hotdata tries before a fixture fails."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_attempts: int = Field(4, ge=1, le=20, description="tries of one request on transient faults")
    validation_attempts: int = Field(
        3, ge=1, le=20, description="asks per fixture when answers fail the schema"
    )
    # "field": a value refused by the quality gates at a few fields is asked again for those
    # fields alone, the rest kept; "whole": the whole value is asked again.
    repair: Literal["field", "whole"] = "field"
    request_timeout: float = Field(
        120.0, gt=0, le=_DAY, allow_inf_nan=False, description="seconds before one model request is abandoned"
    )
    backoff_initial: float = Field(1.0, ge=0, le=_DAY, allow_inf_nan=False)
    backoff_max: float = Field(30.0, ge=0, le=_DAY, allow_inf_nan=False)


class JudgeSettings(BaseModel):
    """``[tool.hotdata.judge]``: yes/no questions a judge model answers about every fixture."""

    model_config = ConfigDict(extra="forbid", strict=True)

    questions: list[str] = Field(
        default_factory=list, description="asked about every fixture, before its own judge= questions"
    )
    model: str | None = Field(None, description="the judge model (default: the fixture's model)")

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        how = 'give yes/no questions as text (questions = ["Does each review match its rating?"])'
        for i, question in enumerate(value):
            if not question.strip():
                raise ValueError(f"question {i} is blank; {how}")
        stripped = [q.strip() for q in value]
        if len(set(stripped)) != len(stripped):
            raise ValueError("the same question is asked twice; ask each once")
        return stripped

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError('the judge model is blank; name a model (model = "gpt-4o-mini") or leave it out')
        return value


class HotDataConfig(BaseModel):
    """The validated ``[tool.hotdata]`` table."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
    max_cost: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="US dollars a run may cost by its estimate; refused before any call",
    )
    offline: bool = False
    review: bool = False
    batch: bool = Field(
        False, description="send first requests as provider batch jobs (half the price); a later run collects"
    )
    replay: ReplayMode = "auto"
    lock_timeout: float = Field(600.0, ge=0, le=_WEEK, allow_inf_nan=False)
    fixture_timeout: float = Field(
        600.0, gt=0, le=_WEEK, allow_inf_nan=False, description="seconds one fixture's generation may take"
    )
    quality: QualitySettings = Field(default_factory=QualitySettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    catalog_cache: bool = Field(
        True,
        description="remember the catalog between no-op runs (false: a catalog that reads the environment)",
    )

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        parse_ttl(value)  # raises ValueError with a readable message (true is not a duration)
        return value

    @field_validator("model_options")
    @classmethod
    def _json_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        # recorded and fingerprinted as JSON: NaN would read stale forever, a date not at all
        for key, item in value.items():
            problem = json_problem(item, key)
            if problem is not None:
                raise ValueError(problem)
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
    "HOTDATA_MAX_COST": "max_cost",
    "HOTDATA_TTL": "ttl",
}


_SWITCH_KEYS = frozenset({"offline", "review", "batch"})
_WHOLE_NUMBER_KEYS = frozenset({"concurrency", "max_calls", "max_tokens"})


def _env_value(var: str, key: str, value: str) -> Any:
    """A ``HOTDATA_*`` value as the table would hold it (the table's types are strict)."""
    if key in _SWITCH_KEYS:
        return parse_switch(value, var)
    if key in _WHOLE_NUMBER_KEYS:
        try:
            return int(value.strip())
        except ValueError:
            raise ConfigError(f"{var}={value!r}: {key} must be a whole number (e.g. {var}=4)") from None
    if key == "max_cost":
        try:
            return float(value.strip())
        except ValueError:
            raise ConfigError(
                f"{var}={value!r}: {key} must be a number of US dollars (e.g. {var}=2.50)"
            ) from None
    return value


def _hotdata_table(doc: Mapping[str, Any], pyproject: Path) -> dict[str, Any]:
    tool = doc.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"'tool' in {pyproject} is a {type(tool).__name__}, not a table")
    table = tool.get("hotdata", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"'hotdata' under [tool] in {pyproject} is a {type(table).__name__} ({table!r}), not a table; "
            "write the settings under [tool.hotdata]"
        )
    return dict(table)


def load_config(root: Path | None = None, environ: Mapping[str, str] | None = None) -> HotDataConfig:
    """Read ``[tool.hotdata]`` from ``root/pyproject.toml`` and apply ``HOTDATA_*`` overrides.

    Unknown keys and bad values raise ``ConfigError`` naming the key and the file; so does a
    fixtures directory that would hold the project's own files (``fixtures_dir = "."``), or a
    fixtures or state directory that is a file.
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
        table = _hotdata_table(doc, pyproject)
    unknown = [k for k in env if k.startswith("HOTDATA_") and k not in _ENV and k not in _OTHER_ENV]
    if unknown:
        raise ConfigError(
            f"unknown environment variable {unknown[0]}; hotdata reads {', '.join(sorted(_ENV))}"
        )
    try:
        for var, key in _ENV.items():
            value = env.get(var)
            if value is not None and value.strip() != "":
                table[key] = _env_value(var, key, value)
    except SwitchError as exc:
        raise ConfigError(str(exc)) from None
    try:
        config = HotDataConfig.model_validate(table)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 2 and err["loc"][0] == "judge":
            raise ConfigError(
                f"unknown key '{err['loc'][1]}' in [tool.hotdata.judge] of {pyproject}; known keys: "
                f"{', '.join(JudgeSettings.model_fields)}"
            ) from None
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(k for k in HotDataConfig.model_fields if k != "root"))
            raise ConfigError(
                f"unknown key '{key}' in [tool.hotdata] of {pyproject}; known keys: {known}"
            ) from None
        raise ConfigError(
            f"[tool.hotdata] {key} in {pyproject} (or its HOTDATA_ variable): {_message(err)}"
        ) from None
    config = config.model_copy(update={"root": root})
    _check_layout(config, pyproject)
    return config


def _message(err: Any) -> str:
    """pydantic's message, with the value it refused (``Input should be a valid integer: True``)."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if err["type"].startswith("value_error") or isinstance(value, dict | list):
        return msg
    return f"{msg} (got {value!r})"


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _check_layout(config: HotDataConfig, pyproject: Path) -> None:
    """The fixtures directory is hotdata's alone (it writes data, records and a README.md there),
    and the fixtures and state directories are directories."""
    root = config.root.resolve()
    fixtures = config.fixtures_path.resolve()
    where = f"fixtures_dir {config.fixtures_dir!r} in {pyproject} (or HOTDATA_FIXTURES_DIR)"
    advice = 'give the fixtures a directory of their own, such as fixtures_dir = "fixtures"'
    if not config.fixtures_dir.strip() or _inside(root, fixtures):
        what = "is the project root" if fixtures == root else "holds the project"
        raise ConfigError(f"{where} {what}: hotdata writes fixtures and a README.md there; {advice}")
    owned = [("templates_dir", config.templates_path.resolve())]
    owned += [
        (f"generator module {m!r}", root / m.split(".")[0]) for m in config.generators if m.split(".")[0]
    ]
    for label, path in owned:
        if _inside(path, fixtures):
            raise ConfigError(f"{where} holds the project's {label} ({path}); {advice}")
    for label, path, key in (
        ("fixtures directory", config.fixtures_path, "set fixtures_dir to another path"),
        ("local state directory", config.state_path, "hotdata keeps its build lock and caches there"),
    ):
        if path.exists() and not path.is_dir():
            raise ConfigError(f"the {label} {path} is a file, not a directory; remove or rename it ({key})")


@dataclass(frozen=True)
class RunSwitches:
    """The run's switches: ``doit fixtures force=1 review=1 replay=off batch=1 dry=1`` (or ``HOTDATA_*``).

    ``None`` leaves the value to ``[tool.hotdata]``; ``dry``: estimate the run, ask and write nothing."""

    force: bool = False
    review: bool | None = None
    replay: ReplayMode | None = None
    batch: bool | None = None
    n: int | None = None  # ``doit preview NAME n=K``: samples to show (None: the command's default)
    dry: bool = False


RUN_SWITCHES = ("batch", "dry", "force", "n", "replay", "review")
MAX_PREVIEW_SAMPLES = 20


def read_run_switches(variables: Mapping[str, str], environ: Mapping[str, str] | None = None) -> RunSwitches:
    """The ``name=value`` arguments of the doit command line as the run's switches.

    An unknown name (``forse=1``) or a value that is not a switch (``review=y``) raises
    ``ConfigError`` in one line. ``force`` falls back to ``HOTDATA_FORCE``; the others to
    ``[tool.hotdata]`` and its variables (``load_config``).
    """
    for name, value in variables.items():
        if name not in RUN_SWITCHES:
            close = difflib.get_close_matches(name, RUN_SWITCHES, n=1)
            hint = f"did you mean {close[0]}={value}? " if close else ""
            raise ConfigError(
                f"unknown argument {name}={value}: {hint}hotdata takes "
                + ", ".join(f"{n}=" for n in RUN_SWITCHES)
            )
    replay = variables.get("replay")
    if replay is not None and replay not in _REPLAY_MODES:
        raise ConfigError(f"replay={replay!r} is not one of {', '.join(_REPLAY_MODES)}")
    force, review, batch = variables.get("force"), variables.get("review"), variables.get("batch")
    n = variables.get("n")
    if n is not None and not (n.strip().isdigit() and 1 <= int(n) <= MAX_PREVIEW_SAMPLES):
        raise ConfigError(f"n={n!r} is not a number of samples: use n=1 to n={MAX_PREVIEW_SAMPLES}")
    dry = variables.get("dry")
    try:
        return RunSwitches(
            force=bool(env_switch("HOTDATA_FORCE", environ))
            if force is None
            else parse_switch(force, "force"),
            review=None if review is None else parse_switch(review, "review"),
            replay=cast(ReplayMode | None, replay),
            batch=None if batch is None else parse_switch(batch, "batch"),
            n=None if n is None else int(n),
            dry=False if dry is None else parse_switch(dry, "dry"),
        )
    except SwitchError as exc:
        raise ConfigError(str(exc)) from None


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
