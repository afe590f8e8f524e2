"""Which llama.cpp this machine has, and how to get the portable one.

llama-cpp-python compiles llama.cpp from source at install time, by default for
the building machine's CPU (``-march=native``). Such a build dies with SIGILL on a
CPU that lacks one of its instructions, and on a CPU that advertises AMX where the
OS has not enabled it (llama.cpp does not ask for the tile state first). The
portable build (``GGML_NATIVE=OFF``) targets x86-64 with AVX2, FMA and F16C (plain
ARMv8 on arm64): it runs on any machine a user has, and measured on this
project's model it is as fast as a native build (the bench's ``embedded`` rows).

Everything here reads the build without loading it into this process: importing
llama_cpp runs native code, which is the worker's to risk.
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = [
    "PORTABLE_CMAKE_ARGS",
    "BuildInfo",
    "Proof",
    "prove_decode",
    "read_build",
    "reinstall_command",
]

# The one place the portable build's flags are written (the README's set-up command and
# .ci/run repeat them; a test checks they agree).
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF"

# Features a portable build never has: they come from -march=native on a machine that has them.
_NATIVE_ONLY = ("AVX512", "AVX_VNNI", "AMX", "SVE", "SME")

_PROBE = "import llama_cpp, sys; sys.stdout.write(llama_cpp.llama_print_system_info().decode())"


def _version() -> str | None:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None


def reinstall_command(python: str | None = None) -> str:
    """The shell command that replaces this environment's llama.cpp with the portable build
    (``--no-cache-dir``: a native wheel in pip's cache must not come back)."""
    version = _version()
    spec = f"llama-cpp-python=={version}" if version else "llama-cpp-python"
    return (
        f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" {shlex.quote(python or sys.executable)} -m pip install '
        f"--force-reinstall --no-cache-dir --no-deps {spec}"
    )


@dataclass(frozen=True)
class BuildInfo:
    """What ``llama_print_system_info`` says of the installed llama.cpp (read in a child process)."""

    version: str | None  # llama-cpp-python's, None when it is not installed
    features: tuple[str, ...] = ()  # the instruction-set features compiled in ("AVX2", ...)
    problem: str | None = None  # why the build could not be read (the child's fate)

    @property
    def native_only(self) -> tuple[str, ...]:
        """Compiled-in features a portable build never has (the build was made for its machine)."""
        return tuple(f for f in self.features if f.startswith(_NATIVE_ONLY))

    @property
    def portable(self) -> bool:
        return self.version is not None and self.problem is None and not self.native_only

    def describe(self) -> str:
        if self.version is None:
            return "llama-cpp-python is not installed (only the embedded model hotdata-local needs it)"
        head = f"llama-cpp-python {self.version}"
        if self.problem is not None:
            return f"{head}: {self.problem}"
        built = " ".join(self.features) or "no optional instructions"
        if self.native_only:
            amx = (
                " (AMX also where the OS has not enabled it)"
                if any(f.startswith("AMX") for f in self.features)
                else ""
            )
            return (
                f"{head}, built for its building machine's CPU ({built}): {', '.join(self.native_only)} "
                f"die with SIGILL on a CPU without them{amx}"
            )
        return f"{head}, portable build ({built})"


def read_build(timeout: float = 60.0) -> BuildInfo:
    """The installed llama.cpp's compiled-in features, read by a child Python (never this one)."""
    version = _version()
    if version is None:
        return BuildInfo(None)
    env = dict(os.environ, PYTHONFAULTHANDLER="")  # a crash is reported below, not as a C traceback
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return BuildInfo(version, problem=f"reading its build info took over {timeout:g}s")
    if probe.returncode != 0:
        from ._worker import describe_exit

        last = (probe.stderr.strip().splitlines() or [""])[-1][:200]
        how = describe_exit(
            probe.returncode, f"reinstall it: {reinstall_command()}", last, "while importing it"
        )
        return BuildInfo(version, problem=f"a Python that imported it {how}")
    return BuildInfo(version, features=_features(probe.stdout))


def _features(info: str) -> tuple[str, ...]:
    """``"CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 0 | ..."`` -> the names set to 1."""
    found = []
    for part in info.replace("\n", "|").split("|"):
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name and value.strip() == "1":
            found.append(name)
    return tuple(found)


@dataclass(frozen=True)
class Proof:
    """A one-token decode by the embedded model in a worker process: ok, or how the worker died."""

    ok: bool
    seconds: float
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"one-token decode in a worker process: ok ({self.seconds:.1f}s to start, load and decode)"
        return f"one-token decode in a worker process failed: {self.problem}"


def prove_decode(engine: str = "hotdata.make.embedded._engine:LlamaEngine") -> Proof:
    """Start the engine's worker (it loads the model and decodes a token) and ask it for one
    token more, in a worker of its own that ends with the proof."""
    from ._worker import ModelWorker, WorkerCrashed

    started = time.monotonic()
    worker = ModelWorker(engine, {"n_ctx": 512}, fix=f"reinstall the portable build: {reinstall_command()}")
    try:
        worker.call({"prompt": "Hello", "options": {"max_tokens": 1}})
    except WorkerCrashed as exc:
        return Proof(False, time.monotonic() - started, str(exc))
    except Exception as exc:  # the engine refused in Python (a missing model file, say)
        return Proof(False, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        worker.close()
    return Proof(True, time.monotonic() - started)
