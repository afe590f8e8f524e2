"""Boolean switches from the environment and the command line, parsed one way everywhere."""

from __future__ import annotations

__all__ = ["truthy"]

_TRUE = frozenset({"1", "true", "yes", "on"})


def truthy(value: object) -> bool:
    """True for ``1``, ``true``, ``yes`` and ``on`` in any case (``HOTDATA_STRICT=TRUE``, ``force=1``).

    >>> [truthy(v) for v in ("On", "0", "", "TRUE")]
    [True, False, False, True]
    """
    return str(value).strip().lower() in _TRUE
