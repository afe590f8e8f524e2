"""hotdata's build side ("make for fixtures"): declarations, the three build stages, doit tasks.

Imported by dodo.py and generator modules only; ``import hotdata`` never loads it.

    # dodo.py
    from hotdata.make import doit_project
    globals().update(doit_project())

    # generators/agents.py
    from hotdata.make import GenerationContext, fixture

    @fixture("agent_snapshots/cockpit_demo", schema=AgentSnapshot, template="agent_snapshot.j2")
    async def cockpit(ctx: GenerationContext) -> AgentSnapshot:
        return await ctx.generate(ctx.render())

The stages are subpackages: ``plan`` (the catalog and one classifier decide what is
stale and why), ``generate`` (generators and model calls turn a fixture into a
``Candidate``, writing nothing), ``commit`` (the only writer under the fixtures
directory). ``_pipeline`` hands values from one stage to the next; ``commands`` is the
doit face.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._config import HotDataConfig, RetrySettings, load_config
    from ._errors import (
        CatalogError,
        ConfigError,
        GenerationError,
        MigrationError,
        ModelError,
        SampleError,
        TemplateError,
    )
    from ._pipeline import Pipeline
    from ._secrets import redact
    from ._spec import FixtureSpec, fixture
    from .commands._noop import doit_project
    from .generate._context import GenerationContext
    from .generate._sample import Address, Person, Sampler

# Each public name and the submodule it lives in; imported on first use.
_LAZY = {
    "HotDataConfig": "_config",
    "load_config": "_config",
    "RetrySettings": "_config",
    "GenerationContext": "generate._context",
    "Sampler": "generate._sample",
    "Person": "generate._sample",
    "Address": "generate._sample",
    "CatalogError": "_errors",
    "ConfigError": "_errors",
    "GenerationError": "_errors",
    "MigrationError": "_errors",
    "ModelError": "_errors",
    "SampleError": "_errors",
    "TemplateError": "_errors",
    "Pipeline": "_pipeline",
    "redact": "_secrets",
    "doit_project": "commands._noop",
    "FixtureSpec": "_spec",
    "fixture": "_spec",
}

__all__ = [
    "Address",
    "CatalogError",
    "ConfigError",
    "FixtureSpec",
    "GenerationContext",
    "GenerationError",
    "HotDataConfig",
    "MigrationError",
    "ModelError",
    "Person",
    "Pipeline",
    "RetrySettings",
    "SampleError",
    "Sampler",
    "TemplateError",
    "doit_project",
    "fixture",
    "load_config",
    "redact",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
