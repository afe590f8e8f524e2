"""Stage 1, plan: which fixtures are stale and why, and the plan of each one to rebuild.

The catalog (``_catalog``: every ``@fixture`` of the generator modules, plus the ad hoc
fixtures of ``doit generate``, ``_adhoc``) and one classifier (``_planner``: the runtime's
checks of data, record, schema and ttl, plus the build's checks of ``_checks``) decide each
fixture's state and the reason in words, from its inputs as they are now (``_inputs``,
with the generator's code closure from ``_closure``). For each fixture to rebuild the
planner resolves one ``FixturePlan``, the generate stage's only input. ``_index``
remembers fixtures verified fresh, so an unchanged tree is decided by ``stat`` calls.
"""

from .._fixture_plan import FINGERPRINT_FORMAT, Fingerprint, FixtureInputs, FixturePlan
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
from ._checks import BUILD_CHECKS, CHECKS, BuildCheck
from ._closure import code_closure, describe_change
from ._index import FreshIndex, IndexEntry
from ._inputs import InputResolver, canonical_value, function_source
from ._planner import Planner, built_from

__all__ = [
    "ADHOC_DIR",
    "BUILD_CHECKS",
    "CHECKS",
    "FINGERPRINT_FORMAT",
    "AdhocDeclaration",
    "BuildCheck",
    "Catalog",
    "Fingerprint",
    "FixtureInputs",
    "FixturePlan",
    "FreshIndex",
    "IndexEntry",
    "InputResolver",
    "Planner",
    "adhoc_spec",
    "built_from",
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
