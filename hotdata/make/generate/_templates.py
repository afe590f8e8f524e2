"""Prompt templates: jinja2 rendering and the include/import/extends closure.

jinja2 is imported only when a fixture is generated (a ``TemplateSet`` is made): the
freshness check hashes template files as bytes and never needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import TemplateError

if TYPE_CHECKING:
    import jinja2

__all__ = ["TemplateSet"]


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _outside(directory: Path, name: str) -> str | None:
    """Where template ``name`` really is when that is outside ``directory`` (through a symlink), else None.

    jinja2's ``FileSystemLoader`` refuses ``..`` in a template name but follows
    symlinks, to files and to directories alike; this closes that second way out.
    """
    root = os.path.realpath(directory)
    real = os.path.realpath(os.path.join(root, *[p for p in name.split("/") if p not in ("", ".")]))
    if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return real


def _contained_loader(directory: Path) -> jinja2.BaseLoader:
    """A ``FileSystemLoader`` that refuses templates resolving outside its directory.

    Every load goes through it: the templates a fixture names and each one they
    include, import or extend, dynamic includes at render time too.
    """
    import jinja2

    class ContainedLoader(jinja2.FileSystemLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            if ".." in template.split("/"):
                raise TemplateError(
                    f"template {template!r} reaches outside the templates directory {directory} "
                    "with '..'; templates may only use templates inside it (move the file there)"
                )
            real = _outside(directory, template)
            if real is not None:
                raise TemplateError(
                    f"template {template!r} in {directory} is a symlink to {real}, outside the "
                    "templates directory; hotdata does not read prompts from outside it (a symlink could "
                    "leak any file into a prompt): copy the file into the templates directory, or point "
                    "templates_dir at a directory that holds both"
                )
            return super().get_source(environment, template)

    return ContainedLoader(str(directory), encoding="utf-8")


class TemplateSet:
    """The jinja2 environment over one templates directory."""

    def __init__(self, directory: Path) -> None:
        import jinja2

        self.directory = directory
        self.env = jinja2.Environment(
            loader=_contained_loader(directory),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # prompts are plain text, not HTML
        )

    @contextlib.contextmanager
    def _loading(self, name: str) -> Iterator[None]:
        """A template that cannot be found or decoded, as one ``TemplateError`` naming it."""
        import jinja2

        try:
            yield
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"template {name!r} not found in {self.directory}; create it or fix the name"
            ) from None
        except UnicodeDecodeError as exc:
            raise TemplateError(
                f"template {self.directory / name} is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None

    def _source(self, name: str) -> str:
        with self._loading(name):
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        return source

    def _parse(self, name: str) -> Any:
        import jinja2

        source = self._source(name)
        try:
            return self.env.parse(source, name=name, filename=str(self.directory / name))
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error in {self.directory / name}, line {exc.lineno}: {exc.message}"
            ) from None

    def closure(self, names: Iterable[str]) -> dict[str, str]:
        """Content hashes of ``names`` and every template they include, import or extend.

        A dynamic include (a variable as template name) cannot be resolved, so then
        every template in the directory counts as an input.
        """
        from jinja2 import meta as jinja2_meta

        hashes: dict[str, str] = {}
        todo: list[tuple[str, str | None]] = [(name, None) for name in names]
        dynamic = False
        while todo:
            name, parent = todo.pop()
            if name in hashes:
                continue
            try:
                tree = self._parse(name)
            except TemplateError as exc:
                if parent is None:
                    raise
                raise TemplateError(f"{exc} (used by template {parent!r})") from None
            hashes[name] = _sha((self.directory / name).read_bytes())
            for ref in jinja2_meta.find_referenced_templates(tree):
                if ref is None:
                    dynamic = True
                else:
                    todo.append((ref, name))
        if dynamic:
            for path in sorted(self.directory.rglob("*")):
                rel = path.relative_to(self.directory).as_posix()
                # a symlink out of the directory cannot be included (the loader refuses it): not an input
                if path.is_file() and not path.name.startswith(".") and _outside(self.directory, rel) is None:
                    hashes.setdefault(rel, _sha(path.read_bytes()))
        return hashes

    def _compiled(self, name: str) -> jinja2.Template:
        """The compiled template from the environment's cache (compiled again only when its file
        changed: jinja2 checks the file's mtime on each use)."""
        import jinja2

        try:
            with self._loading(name):
                return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error in {self.directory / name}, line {exc.lineno}: {exc.message}"
            ) from None

    def render(self, name: str, variables: Mapping[str, Any]) -> str:
        import jinja2

        template = self._compiled(name)  # errors of its own with file and line
        try:
            return template.render(**variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"template {self.directory / name}: {exc.message}; pass it as a variant "
                "parameter or to ctx.render(...)"
            ) from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {self.directory / name}: {exc}") from None

    def render_string(self, source: str, variables: Mapping[str, Any]) -> str:
        import jinja2

        try:
            return self.env.from_string(source).render(**variables)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"prompt text: syntax error at line {exc.lineno}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"prompt text: {exc.message}") from None
