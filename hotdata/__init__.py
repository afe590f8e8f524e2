"""hotdata: rich fixtures generated once by an LLM, validated, committed, hot-loaded.

The runtime library only loads built JSON. It never imports doit, jinja2, an LLM
library or a UI toolkit; build-time code lives in ``hotdata.make``. Names are
imported on first use, so ``import hotdata`` costs about as much as ``import pydantic``.

    >>> from hotdata import HotData
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__

if TYPE_CHECKING:
    from ._errors import (
        DuplicateFixtureError,
        FixtureInvalidError,
        FixtureMissingError,
        HotDataError,
        HotDataWarning,
        InvalidFixtureName,
        ProvenanceError,
        SchemaError,
        SwitchError,
        UnknownFixtureError,
    )
    from ._freshness import FixtureState, FixtureStatus
    from ._hotdata import HotData
    from ._provenance import Provenance
    from ._registry import HotDataRegistry, hotdata_registry, registry
    from ._schema import Serializable
    from .watcher import HotDataWatcher

# Each public name and the submodule it lives in; imported on first use.
_LAZY = {
    "DuplicateFixtureError": "_errors",
    "FixtureInvalidError": "_errors",
    "FixtureMissingError": "_errors",
    "HotDataError": "_errors",
    "HotDataWarning": "_errors",
    "InvalidFixtureName": "_errors",
    "ProvenanceError": "_errors",
    "SchemaError": "_errors",
    "SwitchError": "_errors",
    "UnknownFixtureError": "_errors",
    "FixtureState": "_freshness",
    "FixtureStatus": "_freshness",
    "HotData": "_hotdata",
    "Provenance": "_provenance",
    "HotDataRegistry": "_registry",
    "registry": "_registry",
    "hotdata_registry": "_registry",
    "Serializable": "_schema",
    "HotDataWatcher": "watcher",
}

__all__ = [
    "DuplicateFixtureError",
    "FixtureInvalidError",
    "FixtureMissingError",
    "FixtureState",
    "FixtureStatus",
    "HotData",
    "HotDataError",
    "HotDataRegistry",
    "HotDataWarning",
    "HotDataWatcher",
    "InvalidFixtureName",
    "Provenance",
    "ProvenanceError",
    "SchemaError",
    "Serializable",
    "SwitchError",
    "UnknownFixtureError",
    "__version__",
    "hotdata_registry",
    "registry",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
