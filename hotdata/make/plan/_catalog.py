"""The catalog: every ``FixtureSpec`` found in the configured generator modules."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from .._config import HotDataConfig
from .._errors import CatalogError
from .._spec import FixtureSpec, declared_catalog_inputs, declared_generators, expand
from .._where import located
from ..quality._settings import QualityConfigError, load_user_checks
from ._adhoc import declaration_path, read_adhoc
from ._inputs import judge_model

__all__ = ["Catalog", "load_catalog"]


class Catalog:
    """Fixture specs by name, in a stable order; ``inputs``: the files the declarations read
    (``catalog_inputs=``, relative to the project root)."""

    def __init__(self, specs: list[FixtureSpec], inputs: tuple[str, ...] = ()) -> None:
        self.inputs = tuple(sorted(set(inputs)))
        self._specs: dict[str, FixtureSpec] = {}
        folded: dict[str, str] = {}
        for spec in specs:
            other = self._specs.get(spec.name)
            if other is not None and other != spec:
                raise CatalogError(
                    f"fixture {spec.name!r} is declared twice: by {other.generator_name} and by "
                    f"{spec.generator_name}; give one of them another name"
                )
            # macOS and Windows file systems ignore case (and macOS Unicode normalization):
            # there the two names would be one file, each build overwriting the other's
            key = unicodedata.normalize("NFC", spec.name).casefold()
            twin = folded.setdefault(key, spec.name)
            if twin != spec.name:
                raise CatalogError(
                    f"fixture {spec.name!r} ({spec.generator_name}) differs from fixture {twin!r} "
                    f"({self._specs[twin].generator_name}) only in case; on macOS and Windows they are "
                    "one file. Rename one of them"
                )
            self._specs[spec.name] = spec
        self._order = [self._specs[n] for n in sorted(self._specs)]
        self._families: dict[int, list[FixtureSpec]] | None = None

    def __iter__(self) -> Iterator[FixtureSpec]:
        return iter(self._order)

    def family(self, spec: FixtureSpec) -> list[FixtureSpec]:
        """The specs declared by ``spec``'s generator (``spec`` among them), in name order."""
        if self._families is None:
            families: dict[int, list[FixtureSpec]] = {}
            for each in self._order:
                families.setdefault(id(each.generator), []).append(each)
            self._families = families
        return self._families.get(id(spec.generator), [])

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
    where = located(tb)
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


def _inside_project(module: ModuleType, config: HotDataConfig) -> bool:
    root = config.root.resolve()
    places = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    found = [Path(p).resolve() for p in places if p]
    return any(p == root or root in p.parents for p in found)


def load_catalog(config: HotDataConfig) -> Catalog:
    """Import every configured generator module (packages recursively) and collect specs.

    The default module, ``generators``, must be the project's own: in hotdata's editable
    install this repository's root is on ``sys.path``, and its ``generators`` package is
    no user project's catalog.
    """
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    specs: list[FixtureSpec] = []
    inputs: list[str] = []
    seen: set[int] = set()
    default = "generators" not in config.model_fields_set
    for modname in config.generators:
        top = _import(modname)
        if default and not _inside_project(top, config):
            where = getattr(top, "__file__", None) or list(getattr(top, "__path__", None) or [])
            raise CatalogError(
                f"generator module {modname!r} was not found in the project {config.root} (the one "
                f"importable is {where}, another project's); create {modname}/ in the project, or name "
                "your modules in 'generators' of [tool.hotdata]"
            )
        for module in _walk(top):
            for fn in declared_generators(module):
                if id(fn) not in seen and fn.__module__ == module.__name__:
                    seen.add(id(fn))
                    specs.extend(expand(fn))
                    inputs.extend(declared_catalog_inputs(fn))
    try:
        load_user_checks(config.quality.custom)  # once here: a wrong check would fail every fixture
    except QualityConfigError as exc:
        raise CatalogError(f"[tool.hotdata.quality] custom: {exc}") from None
    declared = {spec.name: spec for spec in specs}
    for spec in read_adhoc(config.fixtures_path):  # what `doit generate` made
        other = declared.get(spec.name)
        if other is not None:
            raise CatalogError(
                f"{declaration_path(config.fixtures_path, spec.name)} declares the ad hoc fixture "
                f"{spec.name}, which {other.generator_name} declares too; delete that file"
            )
        specs.append(spec)
    for spec in specs:
        if spec.judge or config.judge.questions:
            judge_model(config, spec)  # the embedded model is no judge unless named one
    return Catalog(specs, tuple(inputs))
