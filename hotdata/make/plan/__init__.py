"""Stage 1, plan: which fixtures are stale and why, and the plan of each one to rebuild.

The catalog (``_catalog``: every ``@fixture`` of the generator modules, plus the ad hoc
fixtures of ``doit generate``, ``_adhoc``) and one classifier (``_planner``: the runtime's
checks of data, record, schema and ttl, plus the build's checks of ``_checks``) decide each
fixture's state and the reason in words, from its inputs as they are now (``_inputs``,
with the generator's code closure from ``_closure``); a schema change is classified in words
from the schema copies a record keeps (``_schema_change``). For each fixture to rebuild the
planner resolves one ``FixturePlan``, the generate stage's only input. ``_index``
remembers fixtures verified fresh, so an unchanged tree is decided by ``stat`` calls.
"""

from typing import TYPE_CHECKING

from ..._lazy import lazy_attributes

if TYPE_CHECKING:
    from .._field_change import FieldAsk, FieldFill, FillRefused, fill_data, plan_ask, plan_fill
    from .._field_mend import plan_mend
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
    from ._planner import SCHEMA_KEPT, Planner, built_from
    from ._schema_change import ChangeKind, SchemaChange, SchemaDiff, diff_schemas

# Each public name and its module ("._x": the parent package's), imported on first use: the local index
# (``_index``) is read by a no-op build that imports neither pydantic nor the catalog.
_LAZY = {
    "FieldAsk": "._field_change",
    "FieldFill": "._field_change",
    "FillRefused": "._field_change",
    "fill_data": "._field_change",
    "plan_ask": "._field_change",
    "plan_mend": "._field_mend",
    "plan_fill": "._field_change",
    "FINGERPRINT_FORMAT": "._fixture_plan",
    "Fingerprint": "._fixture_plan",
    "FixtureInputs": "._fixture_plan",
    "FixturePlan": "._fixture_plan",
    "expand": "._spec",
    "ADHOC_DIR": "_adhoc",
    "AdhocDeclaration": "_adhoc",
    "adhoc_spec": "_adhoc",
    "declaration": "_adhoc",
    "declaration_path": "_adhoc",
    "is_adhoc": "_adhoc",
    "read_adhoc": "_adhoc",
    "Catalog": "_catalog",
    "load_catalog": "_catalog",
    "BUILD_CHECKS": "_checks",
    "CHECKS": "_checks",
    "BuildCheck": "_checks",
    "code_closure": "_closure",
    "describe_change": "_closure",
    "FreshIndex": "_index",
    "IndexEntry": "_index",
    "InputResolver": "_inputs",
    "canonical_value": "_inputs",
    "function_source": "_inputs",
    "Planner": "_planner",
    "built_from": "_planner",
    "SCHEMA_KEPT": "_planner",
    "ChangeKind": "_schema_change",
    "SchemaChange": "_schema_change",
    "SchemaDiff": "_schema_change",
    "diff_schemas": "_schema_change",
}

__all__ = [
    "ADHOC_DIR",
    "BUILD_CHECKS",
    "CHECKS",
    "FINGERPRINT_FORMAT",
    "SCHEMA_KEPT",
    "AdhocDeclaration",
    "BuildCheck",
    "Catalog",
    "ChangeKind",
    "FieldAsk",
    "FieldFill",
    "FillRefused",
    "Fingerprint",
    "FixtureInputs",
    "FixturePlan",
    "FreshIndex",
    "IndexEntry",
    "InputResolver",
    "Planner",
    "SchemaChange",
    "SchemaDiff",
    "adhoc_spec",
    "built_from",
    "canonical_value",
    "code_closure",
    "declaration",
    "declaration_path",
    "describe_change",
    "diff_schemas",
    "expand",
    "fill_data",
    "function_source",
    "is_adhoc",
    "load_catalog",
    "plan_ask",
    "plan_mend",
    "plan_fill",
    "read_adhoc",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
