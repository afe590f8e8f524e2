"""Stage 1, plan: which fixtures are stale, and why.

The catalog (``_catalog``: every ``@fixture`` of the generator modules, plus the ad hoc
fixtures of ``doit generate``, ``_adhoc``) and one classifier (``_planner``: the runtime's
checks of data, record, schema and ttl, plus the build's checks) decide each fixture's
state and the reason in words, from its inputs as they are now (``_fingerprint``, with
the generator's code closure from ``_closure``). ``_index`` remembers fixtures verified
fresh, so an unchanged tree is decided by ``stat`` calls.
"""

from .._spec import expand
from ._adhoc import (
    ADHOC_DIR,
    AdhocDeclaration,
    adhoc_spec,
    declaration,
    declaration_path,
    is_adhoc,
    read_adhoc,
)
from ._catalog import Catalog, load_catalog
from ._closure import code_closure, describe_change
from ._fingerprint import FINGERPRINT_FORMAT, Fingerprint, Inputs, canonical_value, function_source
from ._index import FreshIndex, IndexEntry
from ._planner import BUILD_CHECKS, CHECKS, BuildCheck, Planner

__all__ = [
    "ADHOC_DIR",
    "BUILD_CHECKS",
    "CHECKS",
    "FINGERPRINT_FORMAT",
    "AdhocDeclaration",
    "BuildCheck",
    "Catalog",
    "Fingerprint",
    "FreshIndex",
    "IndexEntry",
    "Inputs",
    "Planner",
    "adhoc_spec",
    "canonical_value",
    "code_closure",
    "declaration",
    "declaration_path",
    "describe_change",
    "expand",
    "function_source",
    "is_adhoc",
    "load_catalog",
    "read_adhoc",
]
