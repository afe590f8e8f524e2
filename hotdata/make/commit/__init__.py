"""Stage 3, commit: the only code that writes under the fixtures directory.

``_writer`` replaces a fixture's data and record as one crash-safe transaction under the
build lock, stages it for review, accepts or rejects a staged pair, and records answers;
``_catalog_doc`` writes ``fixtures/README.md``, the catalog of every fixture.
"""

from .._files import ensure_state_dir, write_atomic
from ._catalog_doc import CATALOG_FILE, CatalogRow, render_catalog, write_catalog
from ._writer import Writer, recover, write_candidate, write_pair

__all__ = [
    "CATALOG_FILE",
    "CatalogRow",
    "Writer",
    "ensure_state_dir",
    "recover",
    "render_catalog",
    "write_atomic",
    "write_candidate",
    "write_catalog",
    "write_pair",
]
