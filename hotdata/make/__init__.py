"""hotdata's build side: fixture declarations, fingerprints, model calls and doit tasks.

Imported by dodo.py and generator modules only; ``import hotdata`` never loads it.

    # dodo.py
    from hotdata.make import doit_project
    globals().update(doit_project())

    # generators/agents.py
    from hotdata.make import GenerationContext, fixture

    @fixture("agent_snapshots/cockpit_demo", schema=AgentSnapshot, template="agent_snapshot.j2")
    async def cockpit(ctx: GenerationContext) -> AgentSnapshot:
        return await ctx.generate(ctx.render())
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._catalog import Catalog, load_catalog
    from ._config import HotDataConfig, RetrySettings, load_config
    from ._context import GenerationContext, extract_json
    from ._errors import CatalogError, ConfigError, GenerationError, ModelError, TemplateError
    from ._fingerprint import FINGERPRINT_FORMAT, FixtureReport, FreshnessChecker
    from ._model import ModelClient, ModelReply, ModelRequest
    from ._project import doit_project
    from ._session import BuildSession
    from ._spec import FixtureSpec, fixture

_LAZY = {
    "Catalog": "_catalog",
    "load_catalog": "_catalog",
    "HotDataConfig": "_config",
    "RetrySettings": "_config",
    "load_config": "_config",
    "GenerationContext": "_context",
    "extract_json": "_context",
    "CatalogError": "_errors",
    "ConfigError": "_errors",
    "GenerationError": "_errors",
    "ModelError": "_errors",
    "TemplateError": "_errors",
    "FINGERPRINT_FORMAT": "_fingerprint",
    "FixtureReport": "_fingerprint",
    "FreshnessChecker": "_fingerprint",
    "ModelClient": "_model",
    "ModelReply": "_model",
    "ModelRequest": "_model",
    "doit_project": "_project",
    "BuildSession": "_session",
    "FixtureSpec": "_spec",
    "fixture": "_spec",
}

__all__ = [
    "BuildSession",
    "Catalog",
    "CatalogError",
    "ConfigError",
    "FINGERPRINT_FORMAT",
    "FixtureReport",
    "FixtureSpec",
    "FreshnessChecker",
    "GenerationContext",
    "GenerationError",
    "HotDataConfig",
    "ModelClient",
    "ModelError",
    "ModelReply",
    "ModelRequest",
    "RetrySettings",
    "TemplateError",
    "doit_project",
    "extract_json",
    "fixture",
    "load_catalog",
    "load_config",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
