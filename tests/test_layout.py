"""The shape of ``hotdata.make``, read from its imports: no circle, and each part imports only
what sits below it. Every import counts: at module level, inside functions (where a circle
hides) and under ``TYPE_CHECKING``.

    python -m pytest tests/test_layout.py -q
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

MAKE = Path(__file__).resolve().parents[1] / "hotdata" / "make"
PACKAGE = "hotdata.make"
STAGES = ("plan", "generate", "commit")
FEATURES = ("answers", "quality", "models", "batch", "embedded")
FACE = "commands"  # the doit face
CONDUCTOR = f"{PACKAGE}._pipeline"


def _module_name(path: Path) -> str:
    parts = [*path.relative_to(MAKE.parent.parent).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in MAKE.rglob("*.py")}


def _imports(name: str) -> Iterator[tuple[str, int]]:
    """Every module of ``hotdata.make`` that module ``name`` imports, with the line."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import sub` names a submodule when there is one
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import a.b.c` imports a.b.c's module
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE):
                yield target, node.lineno


GRAPH = {name: sorted({t for t, _ in _imports(name) if t != name}) for name in MODULES}


def _part(module: str) -> str:
    """``plan``, ``generate``, ... for a module of a subpackage; the module itself on top."""
    rest = module[len(PACKAGE) + 1 :] if module != PACKAGE else "__init__"
    return rest.split(".")[0]


def _circles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_circle() -> None:
    assert len(MODULES) > 40  # the walk found the package
    assert _circles(GRAPH) == []


def _offending(allowed_from: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) == allowed_from
        for target in targets
        if _part(target) in forbidden
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage_nor_the_conductor_nor_the_doit_face(stage: str) -> None:
    others = tuple(s for s in STAGES if s != stage)
    assert _offending(stage, (*others, "_pipeline", FACE)) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_imports_no_stage_nor_the_conductor_nor_the_doit_face(feature: str) -> None:
    assert _offending(feature, (*STAGES, "_pipeline", FACE)) == []


def test_nothing_below_the_doit_face_imports_it() -> None:
    users = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) != FACE and module != PACKAGE  # the package's face hands doit_project on
        for target in targets
        if _part(target) == FACE
    ]
    assert users == []


def test_the_shared_vocabulary_and_hand_off_values_import_no_stage() -> None:
    top = [m for m, path in MODULES.items() if path.parent == MAKE and path.name != "__init__.py"]
    top.remove(CONDUCTOR)
    assert f"{PACKAGE}._spec" in top
    assert [
        f"{module} imports {target}"
        for module in top
        for target in GRAPH[module]
        if _part(target) in (*STAGES, "batch", "_pipeline", FACE)
    ] == []


def test_the_embedded_model_imports_nothing_else_of_the_build_side() -> None:
    assert [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) == "embedded"
        for target in targets
        if _part(target) != "embedded"
    ] == []


def test_the_walk_reads_imports_made_inside_functions_and_for_type_checking() -> None:
    """Both circles this layout opened were hidden in function-level imports (``_ask`` <->
    ``_prose``, ``_catalog_doc`` <-> ``_pipeline``): the walk must see such imports."""
    # `python -m hotdata.make.embedded` imports its worker inside a function, to stay light
    assert f"{PACKAGE}.embedded._worker" in GRAPH[f"{PACKAGE}.embedded._build"]
    # the package's face imports its names only for the type checker (and lazily at run time)
    assert f"{PACKAGE}._pipeline" in GRAPH[PACKAGE]
    assert _circles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
