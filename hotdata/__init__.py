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
    from ._duration import parse_ttl
    from ._errors import (
        DuplicateFixtureError,
        FixtureInvalidError,
        FixtureMissingError,
        HotDataError,
        HotDataWarning,
        InvalidFixtureName,
        ProvenanceError,
        SchemaError,
        UnknownFixtureError,
    )
    from ._hotdata import FixtureState, FixtureStatus, HotData
    from ._names import fixture_paths, validate_fixture_name
    from ._provenance import PROVENANCE_FORMAT, Provenance, Usage
    from ._registry import HotDataRegistry, hotdata_registry, registry
    from ._schema import Serializable, canonical_json
    from .watcher import HotDataWatcher

_LAZY = {
    "parse_ttl": "_duration",
    "DuplicateFixtureError": "_errors",
    "FixtureInvalidError": "_errors",
    "FixtureMissingError": "_errors",
    "HotDataError": "_errors",
    "HotDataWarning": "_errors",
    "InvalidFixtureName": "_errors",
    "ProvenanceError": "_errors",
    "SchemaError": "_errors",
    "UnknownFixtureError": "_errors",
    "FixtureState": "_hotdata",
    "FixtureStatus": "_hotdata",
    "HotData": "_hotdata",
    "fixture_paths": "_names",
    "validate_fixture_name": "_names",
    "PROVENANCE_FORMAT": "_provenance",
    "Provenance": "_provenance",
    "Usage": "_provenance",
    "HotDataRegistry": "_registry",
    "hotdata_registry": "_registry",
    "registry": "_registry",
    "Serializable": "_schema",
    "canonical_json": "_schema",
    "HotDataWatcher": "watcher",
}

__all__ = [
    "PROVENANCE_FORMAT",
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
    "UnknownFixtureError",
    "Usage",
    "__version__",
    "canonical_json",
    "fixture_paths",
    "hotdata_registry",
    "parse_ttl",
    "registry",
    "validate_fixture_name",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
