"""A temporary hotdata project driven through real `doit` subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
        """Fixture names of every model call so far, then forget them."""
        if not self.log.exists():
            return []
        names = [json.loads(line)["fixture"] for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return sorted(names)

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


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout
