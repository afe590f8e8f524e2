"""``python -m hotdata.make.embedded [--repair]``: is this machine's llama.cpp portable, and does it run?

Prints the installed build's compiled-in features and proves it with a one-token
decode in a worker process. ``--repair`` (the README's set-up runs it) replaces a
build that is not portable — a native wheel pip took from its cache, say — or that
cannot decode here, with the portable build, then checks again. Exit status 0 when
the build is portable and decodes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

from ._build import PORTABLE_CMAKE_ARGS, BuildInfo, Proof, prove_decode, read_build, reinstall_command


def _check() -> tuple[BuildInfo, Proof | None]:
    build = read_build()
    print(f"llama.cpp: {build.describe()}", flush=True)
    if build.version is None or build.problem is not None:
        return build, None
    proof = prove_decode()
    print(f"llama.cpp: {proof.describe()}", flush=True)
    return build, proof


def _reinstall() -> int:
    command = reinstall_command()
    print(f"llama.cpp: installing the portable build (about 10 minutes on 2 cores): {command}", flush=True)
    argv = shlex.split(command.split(" ", 1)[1])  # the command without its CMAKE_ARGS=... prefix
    return subprocess.call(argv, env=dict(os.environ, CMAKE_ARGS=PORTABLE_CMAKE_ARGS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hotdata.make.embedded", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repair", action="store_true", help="reinstall llama.cpp portable when it is not")
    args = parser.parse_args(argv)
    build, proof = _check()
    if build.version is None:
        return 0  # nothing to check: the embedded model is not installed
    sound = build.portable and proof is not None and proof.ok
    if sound or not args.repair:
        if not sound:
            print(f"llama.cpp: fix: {reinstall_command()}", flush=True)
        return 0 if sound else 1
    if _reinstall() != 0:
        print("llama.cpp: the portable build failed to install; see pip's output above", flush=True)
        return 1
    build, proof = _check()
    return 0 if build.portable and proof is not None and proof.ok else 1


if __name__ == "__main__":
    sys.exit(main())
