"""The catalog: every ``FixtureSpec`` found in the configured generator modules."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from collections.abc import Iterator
from types import ModuleType

from ._config import HotDataConfig
from ._errors import CatalogError
from ._spec import FixtureSpec, declared_generators, expand

__all__ = ["Catalog", "load_catalog"]


class Catalog:
    """Fixture specs by name, in a stable order."""

    def __init__(self, specs: list[FixtureSpec]) -> None:
        self._specs: dict[str, FixtureSpec] = {}
        for spec in specs:
            other = self._specs.get(spec.name)
            if other is not None and other != spec:
                raise CatalogError(
                    f"fixture {spec.name!r} is declared twice: by {other.generator_name} and by "
                    f"{spec.generator_name}; give one of them another name"
                )
            self._specs[spec.name] = spec

    def __iter__(self) -> Iterator[FixtureSpec]:
        return iter(self._specs[n] for n in sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> FixtureSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise CatalogError(f"no fixture named {name!r}; `doit list --all` shows every fixture") from None

    def names(self) -> list[str]:
        return sorted(self._specs)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise CatalogError(
                f"generator module {name!r} was not found; check 'generators' in [tool.hotdata]"
            ) from None
        raise CatalogError(_describe_import_error(name)) from exc
    except Exception:
        raise CatalogError(_describe_import_error(name)) from None


def _describe_import_error(name: str) -> str:
    _, exc, tb = sys.exc_info()
    frames = traceback.extract_tb(tb)
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    if isinstance(exc, SyntaxError):
        where = f" ({exc.filename}, line {exc.lineno})"
    return f"generator module {name!r} failed to import: {type(exc).__name__}: {exc}{where}"


def _walk(module: ModuleType) -> list[ModuleType]:
    modules = [module]
    path = getattr(module, "__path__", None)
    if path is not None:
        for info in sorted(pkgutil.walk_packages(path, prefix=module.__name__ + "."), key=lambda i: i.name):
            modules.append(_import(info.name))
    return modules


def load_catalog(config: HotDataConfig) -> Catalog:
    """Import every configured generator module (packages recursively) and collect specs."""
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    specs: list[FixtureSpec] = []
    seen: set[int] = set()
    for modname in config.generators:
        for module in _walk(_import(modname)):
            for fn in declared_generators(module):
                if id(fn) not in seen and fn.__module__ == module.__name__:
                    seen.add(id(fn))
                    specs.extend(expand(fn))
    return Catalog(specs)
