"""A temporary hotdata project driven through real `doit` subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).parent / "project_template"


class Project:
    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log

    @classmethod
    def create(cls, tmp: Path) -> Project:
        root = tmp / "project"
        shutil.copytree(TEMPLATE, root, ignore=shutil.ignore_patterns("__pycache__"))
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "initial")
        return cls(root, tmp / "calls.jsonl")

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        """This process's environment without HOTDATA_ settings, plus the fake's call log."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
        env["HOTDATA_FAKE_LOG"] = str(self.log)
        env.update(extra or {})
        return env

    def doit(
        self, *args: str, env: dict[str, str] | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "doit", *args],
            cwd=self.root,
            env=self._env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"doit {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "doit", *args],
            cwd=self.root,
            env=self._env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def calls(self) -> list[str]:
        """Fixture names of every model call so far (from the ``[fixture NAME]`` line the
        templates start with), then forget them."""
        if not self.log.exists():
            return []
        prompts = [json.loads(line)["prompt"] for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return sorted(fixture_of(p) for p in prompts)

    def wait_for_call(self, timeout: float = 60.0) -> None:
        """Block until the fake model has received a request (an observed event, not a guess)."""
        deadline = time.monotonic() + timeout
        while not (self.log.exists() and self.log.read_text().strip()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no model call reached the fake within {timeout:.0f}s")
            time.sleep(0.01)

    def status(self, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        proc = self.doit("status", "--json", env=env, check=True)
        start = proc.stdout.index("[")
        return {row["name"]: row for row in json.loads(proc.stdout[start:])}

    def path(self, rel: str) -> Path:
        return self.root / rel

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))


def fixture_of(prompt: str) -> str:
    match = re.search(r"\[fixture ([^\]]+)\]", prompt)
    return match[1] if match else "?"


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout
