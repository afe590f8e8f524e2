"""Ad hoc fixtures: what ``doit generate`` made, declared so that every command counts them.

``doit generate --schema gens.schemas:Note --prompt "..." --name adhoc/rain`` has no
``@fixture`` in the project's modules. Its declaration — schema, template or prompt,
parameters — is kept in ``fixtures/.adhoc/adhoc/rain.json`` beside the data, so ``doit
status``, ``validate``, ``verify``, ``prune`` and ``fixtures`` see it as they see every
declared fixture: it goes stale when its template or schema changes, ``verify``
rebuilds it from its recorded answers, and ``prune`` keeps those. Commit it with the
rest of ``fixtures/``; delete it (with the fixture's files) to drop the fixture.

A declaration is a file under ``fixtures/`` like any other (merged, hand-edited): it is
checked before use, and a bad one stops the catalog with one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..._errors import HotDataError, InvalidFixtureName
from ..._names import DATA_SUFFIX, validate_fixture_name
from ..._provenance import sha256_hex
from ..._schema import import_schema
from .._errors import CatalogError
from .._secrets import mask_secrets, secret_values
from .._spec import FixtureSpec, json_problem

__all__ = [
    "ADHOC_DIR",
    "AdhocDeclaration",
    "adhoc_spec",
    "declaration",
    "declaration_path",
    "is_adhoc",
    "read_adhoc",
]

ADHOC_DIR = ".adhoc"


class AdhocDeclaration(BaseModel):
    """What ``doit generate`` was asked: enough to build the fixture again."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[1] = 1
    name: str
    schema_name: str
    template: str = ""
    prompt: str = ""
    params: dict[str, Any] = {}
    system: str = ""  # ``--system``: sent first with every request, as ``@fixture(system=)``

    def to_bytes(self) -> bytes:
        # without a system prompt, the file is what it was before there could be one
        data = self.model_dump(exclude={"system"} if not self.system else set())
        return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def adhoc_spec(
    schema: Any, template: str, prompt: str, name: str, params: dict[str, Any], *, system: str = ""
) -> FixtureSpec:
    """The spec of ``doit generate``: one fixture from a template or inline prompt text."""
    if system and not system.strip():
        raise CatalogError("--system is blank; give the system prompt as text, or leave --system out")

    async def adhoc(ctx: Any, **_: Any) -> Any:
        text = ctx.render() if template else ctx.render_text(prompt)
        return await ctx.generate(text)

    return FixtureSpec(
        name=name,
        generator=adhoc,
        schema=schema,
        templates=(template,) if template else (),
        params=params,
        version="adhoc:" + sha256_hex(prompt.encode())[:16] if prompt else "adhoc",
        system=system or None,
    )


def is_adhoc(spec: FixtureSpec) -> bool:
    return spec.generator.__module__ == __name__


def declaration_path(fixtures_path: Path, name: str) -> Path:
    return fixtures_path / ADHOC_DIR / f"{name}{DATA_SUFFIX}"


def declaration(
    schema_name: str, template: str, prompt: str, name: str, params: dict[str, Any], *, system: str = ""
) -> bytes | None:
    """The declaration file's bytes; None when it would hold a secret (never written to fixtures/)."""
    secrets = secret_values()
    if mask_secrets(params, secrets) != params or any(secret in prompt + system for secret in secrets):
        return None
    return AdhocDeclaration(
        name=name, schema_name=schema_name, template=template, prompt=prompt, params=params, system=system
    ).to_bytes()


def _parse(path: Path, name: str) -> AdhocDeclaration:
    """The declaration in ``path``; ``CatalogError`` saying what is wrong with it (not where)."""
    try:
        found = AdhocDeclaration.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise CatalogError(f"cannot be read ({exc.strerror or exc})") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise CatalogError(f"{where}: {err['msg']}") from None
    if found.name != name:
        raise CatalogError(f"declares fixture {found.name!r}, but its path says {name!r}")
    if bool(found.template) == bool(found.prompt):
        raise CatalogError("give exactly one of template and prompt")
    for key, value in found.params.items():
        problem = json_problem(value, key)
        if problem is not None:
            raise CatalogError(f"parameter {problem}")
    return found


def read_adhoc(fixtures_path: Path) -> list[FixtureSpec]:
    """The ad hoc fixtures declared under ``fixtures_path/.adhoc``; ``CatalogError`` names a bad file."""
    directory = fixtures_path / ADHOC_DIR
    if not directory.is_dir():
        return []
    specs = []
    for path in sorted(directory.rglob(f"*{DATA_SUFFIX}")):
        name = path.relative_to(directory).as_posix()[: -len(DATA_SUFFIX)]
        try:
            validate_fixture_name(name)
            found = _parse(path, name)
            schema = import_schema(found.schema_name)
        except InvalidFixtureName as exc:
            why = f"is not named after a fixture: {exc.why}"
        except HotDataError as exc:
            why = str(exc)
        else:
            specs.append(
                adhoc_spec(
                    schema, found.template, found.prompt, name, dict(found.params), system=found.system
                )
            )
            continue
        raise CatalogError(f"ad hoc fixture {path}: {why}; fix it, or delete it to drop the ad hoc fixture")
    return specs
