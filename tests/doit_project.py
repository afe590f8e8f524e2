"""A temporary hotdata project driven through real `doit` subprocesses."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotdata.testing import FakeOpenAIServer

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

    def on_terminal(self, *args: str, keys: Sequence[bytes], timeout: float = 60.0) -> tuple[int, str]:
        """Run ``doit *args`` on a pseudo-terminal, pressing each of ``keys`` at a prompt (the next
        key only once the next prompt is shown); its exit code and everything it wrote."""
        pid, fd = pty.fork()
        if pid == 0:  # the child: doit on the pseudo-terminal
            os.chdir(self.root)
            os.execve(sys.executable, [sys.executable, "-m", "doit", *args], self._env(None))
        output, seen = b"", 0

        def read_until(text: bytes | None) -> None:
            """Until ``text`` appears after ``seen`` (None: until the child closes the terminal)."""
            nonlocal output
            deadline = time.monotonic() + timeout
            while text is None or text not in output[seen:]:
                assert time.monotonic() < deadline, output.decode(errors="replace")
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:  # EIO: the child is gone
                        chunk = b""
                    if not chunk:
                        assert text is None, output.decode(errors="replace")
                        return
                    output += chunk

        for key in keys:
            read_until(b"q quit > ")
            seen = len(output)
            os.write(fd, key)
        read_until(None)
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), output.decode(errors="replace")

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


class Output:
    """A running process's stdout and stderr lines, read in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._open = 2
        self._changed = threading.Condition()
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream,), daemon=True)
            for stream in (proc.stdout, proc.stderr)
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: IO[str] | None) -> None:
        assert stream is not None
        with stream:
            for line in stream:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        """Until a line contains ``text`` (fails when the process ends first)."""
        with self._changed:
            self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or not self._open, timeout
            )
            if not any(text in line for line in self.lines):
                raise AssertionError(f"{text!r} not seen; saw:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 60.0) -> str:
        self.proc.wait(timeout)
        for pump in self._pumps:
            pump.join(timeout)
        return "\n".join(self.lines)


def wait_for_request(server: FakeOpenAIServer, count: int, timeout: float = 60.0) -> None:
    """Until the server has recorded ``count`` requests (an observed event, not a guess)."""
    deadline = time.monotonic() + timeout
    while len(server.requests) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the fake server got {len(server.requests)} of {count} requests")
        time.sleep(0.01)


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


def fake_gpt_project(
    tmp: Path, server: FakeOpenAIServer, files: dict[str, str]
) -> tuple[Project, dict[str, str]]:
    """A project with ``files`` (path -> text) built once by model ``fake-gpt`` of ``server``, and
    the environment that selects that model; the requests of that first build are forgotten."""
    proj = Project.create(tmp)
    for rel, text in files.items():
        proj.path(rel).write_text(text)
    user_dir = tmp / "llm"
    server.write_llm_config(user_dir, "fake-gpt")
    env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}
    proj.doit("fixtures", env=env, check=True)
    completions(server)
    return proj, env


def completions(server: FakeOpenAIServer) -> int:
    """How many chat completions ``server`` answered since last asked (then forgets them)."""
    count = len([r for r in server.requests if r["path"].endswith("/chat/completions")])
    server.requests.clear()
    return count


def stale_reasons(proj: Project, env: dict[str, str]) -> dict[str, str]:
    """Each fixture that is not fresh, and why."""
    return {n: r["reason"] for n, r in proj.status(env).items() if r["state"] != "fresh"}


def read_record(proj: Project, name: str) -> dict[str, Any]:
    """The committed provenance record of fixture ``name``."""
    loaded: dict[str, Any] = json.loads(proj.path(f"fixtures/{name}.meta.json").read_text())
    return loaded


def verify_asks_nothing(proj: Project, env: dict[str, str], server: FakeOpenAIServer, count: int) -> None:
    """``doit verify``, offline, passes for all ``count`` fixtures without a request to ``server``."""
    proc = proj.doit("verify", env={**env, "HOTDATA_OFFLINE": "1"}, check=True)
    assert f"all {count} fixture(s) are what the committed code produces (0 model calls)" in proc.stdout
    assert completions(server) == 0
