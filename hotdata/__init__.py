"""hotdata: rich fixtures generated once by an LLM, validated, committed, hot-loaded.

The runtime library only loads built JSON. It never imports doit, jinja2, an LLM
library or a UI toolkit; build-time code lives in ``hotdata.build``.

    >>> from hotdata import HotData
"""

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
from ._version import __version__

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
