"""The code closure of a generator: its own source and every project-local name it uses.

A fixture's data depends on more than its generator function: the tuple it picks
names from, a helper that rounds a number, a class, a module of the project it
imports. ``code_closure`` follows the names a function uses, transitively, across
the project's own modules, and hashes each one:

* functions and classes by their normalized source (the AST without docstrings,
  so comment, docstring and formatting-only edits change nothing);
* module-level constants by value (canonical JSON; sets sorted; other objects by repr).

Schema classes are out (pydantic models' fields, and the enums their fields use): a schema is
fingerprinted by its JSON Schema (the fixture's ``schema`` and each of ``schemas_used``), so
editing one is a schema change, classified as such, never "code changed". What a model holds
beyond its fields (validators, methods, ``model_config``) changes no JSON Schema: it stays code. ``schema_classes=True``
gives the closure as fingerprint format 3 computed it (schema classes in), to read older records.

Third-party and standard-library code is out: it is not the project's to change
from one commit to the next (a lock file pins it).
"""

from __future__ import annotations

import ast
import enum
import hashlib
import inspect
import json
import os
import sys
import sysconfig
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["code_closure", "describe_change", "normalized_source"]


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            body = node.body
            first = body[0] if body else None
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]


def _parse(obj: Any) -> ast.AST | None:
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        node.decorator_list = []  # decorator arguments (variants, schema) are fingerprinted apart
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        _drop_signature_annotations(node)
    _strip_docstrings(tree)
    return tree


def normalized_source(obj: Any) -> str | None:
    """The AST of ``obj``'s source without docstrings and decorators (None: no source)."""
    tree = _parse(obj)
    return None if tree is None else ast.dump(tree, include_attributes=False)


def _canonical(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, set | frozenset):
            return sorted(o, key=repr)
        return repr(o)

    return json.dumps(value, sort_keys=True, default=default, ensure_ascii=False)


class _Project:
    """Which modules are the project's own: files under its root, outside any environment."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root) + os.sep
        paths = sysconfig.get_paths()
        outside = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        outside.add(sys.prefix)
        self.outside = tuple(os.path.realpath(p) + os.sep for p in outside if p)

    def owns(self, module: types.ModuleType | None) -> bool:
        file = getattr(module, "__file__", None)
        if not file or module is None or module.__name__.partition(".")[0] == "hotdata":
            return False  # hotdata is the tool, not the project (even when checked out inside it)
        real = os.path.realpath(file)
        return real.startswith(self.root) and not real.startswith(self.outside)

    def label(self, module: types.ModuleType) -> str:
        file = os.path.realpath(module.__file__ or "")
        return file[len(self.root) :].replace(os.sep, "/") if file.startswith(self.root) else module.__name__


def _drop_signature_annotations(tree: ast.AST) -> None:
    # A function's parameter and return annotations do not change what it computes.
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
            every = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            every += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
            for arg in every:
                arg.annotation = None


def _used_names(tree: ast.AST) -> Iterator[tuple[str, ...]]:
    """Global names and dotted attribute chains (``mod.NAME``) a piece of code reads."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            chain: list[str] = [node.attr]
            value: ast.expr = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id not in bound:
                yield (value.id, *reversed(chain))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            yield (node.id,)


def _namespace(obj: Any) -> dict[str, Any]:
    if isinstance(obj, types.FunctionType):
        names = dict(obj.__globals__)
        if obj.__closure__:
            names.update(
                zip(obj.__code__.co_freevars, (c.cell_contents for c in obj.__closure__), strict=False)
            )
        return names
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return dict(vars(module)) if module else {}


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _schema_types(model: type[BaseModel]) -> dict[int, type]:
    """Every class the fields of ``model`` name, nested models' included, by id."""
    found: dict[int, type] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type):
            if id(annotation) in found:
                return
            found[id(annotation)] = annotation
            if issubclass(annotation, BaseModel):
                for info in annotation.model_fields.values():
                    visit(info.annotation)
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(model)
    return found


def _without_fields(tree: ast.AST) -> ast.AST | None:
    """A schema class's code beyond its fields (validators, methods, ``model_config``): its
    field declarations are its JSON Schema, fingerprinted apart. None: it has nothing else."""
    node = tree.body[0] if isinstance(tree, ast.Module) and tree.body else None
    if not isinstance(node, ast.ClassDef):
        return tree
    node.body = [s for s in node.body if not isinstance(s, ast.AnnAssign | ast.Pass)]
    return tree if node.body else None


def code_closure(
    fn: Callable[..., Any], root: Path, *, schema_classes: bool = False, schema: Any = None
) -> dict[str, str]:
    """``{"generators/agents.py:NAMES": "sha256:…", …}`` for ``fn`` and all it uses in the project.

    Schema classes (pydantic models' field declarations, and enums their fields use) are left
    out unless ``schema_classes``: their JSON Schemas are fingerprinted on their own. ``schema``:
    the fixture's schema class, whose code beyond its fields (a validator) is the fixture's code
    too, though the generator may never name it."""
    project = _Project(root)
    out: dict[str, str] = {}
    seen: set[int] = set()
    todo: list[Any] = [fn] if schema_classes or not _is_model(schema) else [fn, schema]
    in_schemas: set[int] = set()  # classes a schema's fields use
    enums: list[Any] = []  # enums met: code, unless a schema uses them
    decided: set[int] = set()  # enums already judged
    while todo or enums:
        if not todo:  # every schema class is known now: an enum none of them uses is code
            todo = [e for e in enums if id(e) not in in_schemas]
            enums = []
            continue
        obj = todo.pop()
        model = not schema_classes and _is_model(obj)
        if model and id(obj) not in seen:  # the models its fields use are followed too: their code
            nested = _schema_types(obj)
            in_schemas.update(nested)
            todo += [
                c for c in nested.values() if _is_model(c) and project.owns(sys.modules.get(c.__module__))
            ]
        if not schema_classes and isinstance(obj, enum.EnumMeta) and id(obj) not in decided:
            decided.add(id(obj))
            enums.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        module = sys.modules.get(getattr(obj, "__module__", ""), None)
        tree = _parse(obj)
        if tree is not None and model:
            tree = _without_fields(tree)
        if module is None or tree is None:
            continue
        out[f"{project.label(module)}:{obj.__qualname__}"] = _sha(ast.dump(tree, include_attributes=False))
        namespace = _namespace(obj)
        for chain in _used_names(tree):
            target: Any = namespace.get(chain[0], _MISSING)
            owner = module
            label = chain[0]
            for part in chain[1:]:  # project.module.NAME: follow it into the project module
                if not isinstance(target, types.ModuleType) or not project.owns(target):
                    break
                owner, label = target, part
                target = getattr(target, part, _MISSING)
            if target is _MISSING or isinstance(target, types.ModuleType):
                continue
            if isinstance(target, type | types.FunctionType):
                if project.owns(sys.modules.get(target.__module__)):
                    todo.append(target)
            elif project.owns(owner) and label in vars(owner):
                out[f"{project.label(owner)}:{label}"] = _sha(_canonical(target))
    return dict(sorted(out.items()))


_MISSING: Any = object()


def describe_change(old: dict[str, str], new: dict[str, str], generator: str) -> str:
    """What changed between two closures, in words: "NAMES in generators/agents.py changed"."""

    def words(key: str) -> str:
        path, _, name = key.rpartition(":")
        short = name.rsplit(".", 1)[-1]
        if short == generator:
            return f"generator {short}"
        return f"{name} in {path}"

    for key in sorted(new):
        if key in old and old[key] != new[key]:
            return f"{words(key)} changed"
    if any(words(key) == f"generator {generator}" and key not in old for key in new):
        return f"generator {generator} changed"  # another function now generates it
    for key in sorted(new):
        if key not in old:
            return f"the generator now uses {words(key)}"
    for key in sorted(old):
        if key not in new:
            return f"the generator no longer uses {words(key)}"
    return f"generator {generator} changed"
