"""The embedded model's worker process: native crashes and hangs cost one request, never the build.

Driven with a test double of the engine (``hotdata.testing._engines.MisbehavingEngine``)
that runs in the same kind of worker process as llama.cpp and kills itself with a
real signal, aborts, or blocks in C, on the request that asks for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from doit_project import Project

from hotdata.make.embedded import PORTABLE_CMAKE_ARGS, ModelWorker, WorkerCrashed, read_build

ENGINE = "hotdata.testing._engines:MisbehavingEngine"
FIX = 'reinstall the portable build: CMAKE_ARGS="-DGGML_NATIVE=OFF" python -m pip install ...'
ROOT = Path(__file__).resolve().parents[1]


def _worker(**arguments: object) -> ModelWorker:
    return ModelWorker(ENGINE, {"model": "unit", **arguments}, fix=FIX)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def _wait_gone(pid: int, guard: float = 60.0) -> None:
    """Until process ``pid`` has ended (an observed event; ``guard`` only stops a hang)."""
    deadline = time.monotonic() + guard
    while _alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.02)


# -- the worker, in this process ---------------------------------------------------------


def test_a_crash_fails_the_request_it_served_and_the_next_gets_a_fresh_worker() -> None:
    worker = _worker()
    try:
        first = worker.call({"prompt": "hello", "schema": {"type": "string"}})
        assert json.loads(first["text"])
        with pytest.raises(WorkerCrashed) as crashed:
            worker.call({"prompt": "[crash SIGILL]"})
        message = str(crashed.value)
        assert "died of SIGILL (illegal instruction)" in message
        assert "likely cause: the native library was built for instructions this CPU" in message
        assert FIX in message
        assert worker.call({"prompt": "again", "schema": {"type": "string"}})["text"]
    finally:
        worker.close()


def test_closing_after_a_crash_leaves_no_executor_thread_for_the_exit_hook_to_wake() -> None:
    # Python 3.11's exit hook writes to each live executor's wake-up pipe without its lock; a
    # manager thread still closing that pipe made a "Bad file descriptor" traceback (CI, stop 30).
    import threading

    before = set(threading.enumerate())
    worker = _worker()
    with pytest.raises(WorkerCrashed):
        worker.call({"prompt": "[crash SIGSEGV]"})
    worker.call({"prompt": "again", "schema": {"type": "string"}})
    worker.close()
    managers = [t for t in set(threading.enumerate()) - before if "ExecutorManager" in type(t).__name__]
    assert managers == []


def test_an_abort_reports_the_native_library_last_words() -> None:
    worker = _worker()
    try:
        with pytest.raises(
            WorkerCrashed,
            match=r"SIGABRT \(abort\) while answering this request \(it said: \"GGML_ASSERT\(fake\) failed",
        ):
            worker.call({"prompt": "[abort]"})
    finally:
        worker.close()


def test_a_worker_that_dies_starting_fails_every_request_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = tmp_path / "starts"
    monkeypatch.setenv("HOTDATA_FAKE_WORKER_STARTS", str(starts))
    worker = _worker(die_at_start="SIGSEGV")
    try:
        with pytest.raises(WorkerCrashed) as first:
            worker.call({"prompt": "one"})
        assert "died of SIGSEGV (segmentation fault)" in str(first.value)
        assert "while loading the model and decoding one token" in str(first.value)
        assert "`doit doctor` shows what this machine can run" in str(first.value)
        with pytest.raises(WorkerCrashed) as second:
            worker.call({"prompt": "two"})
        assert str(second.value) == str(first.value)
        assert len(starts.read_text().splitlines()) == 1  # not restarted per request
    finally:
        worker.close()


def test_cancelling_a_request_blocked_in_c_kills_the_worker_and_the_next_request_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("HOTDATA_FAKE_LOG", str(log))  # the spawned worker inherits it
    worker = _worker()

    async def scenario() -> dict[str, object]:
        blocked = asyncio.ensure_future(worker.acall({"prompt": "[block]"}))
        while not (log.exists() and log.read_text().strip()):  # the worker has begun the request
            await asyncio.sleep(0.01)
        pid = json.loads(log.read_text().splitlines()[0])["pid"]
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        _wait_gone(pid)
        return await worker.acall({"prompt": "after", "schema": {"type": "string"}})

    try:
        reply = asyncio.run(scenario())
        assert reply["text"]
        pids = {json.loads(line)["pid"] for line in log.read_text().splitlines()}
        assert len(pids) == 2  # the second request was served by a fresh worker
    finally:
        worker.close()


def test_requests_queued_behind_a_crash_are_served_by_a_fresh_worker(tmp_path: Path) -> None:
    worker = _worker()

    async def scenario() -> list[object]:
        return await asyncio.gather(
            worker.acall({"prompt": "[crash SIGSEGV]"}),
            *(worker.acall({"prompt": f"queued {i}", "schema": {"type": "string"}}) for i in range(3)),
            return_exceptions=True,
        )

    try:
        crashed, *served = asyncio.run(scenario())
        assert isinstance(crashed, WorkerCrashed) and "SIGSEGV" in str(crashed)
        assert all(isinstance(r, dict) and r["text"] for r in served), served
    finally:
        worker.close()


# -- through doit --------------------------------------------------------------------------

_GENERATORS = """
from hotdata.make import GenerationContext, fixture

from .schemas import Draft


@fixture("native/ok_{n}", schema=Draft, model="hotdata-fake-worker", variants=[{"n": 1}, {"n": 2}])
async def ok(ctx: GenerationContext, n: int) -> Draft:
    return await ctx.generate(f"[fixture native/ok_{n}] Write a short draft.")


@fixture("native/bad", schema=Draft, model="hotdata-fake-worker", timeout=TIMEOUT)
async def bad(ctx: GenerationContext) -> Draft:
    return await ctx.generate("[fixture native/bad] MARKER Write a short draft.")
"""


def _native_project(tmp_path: Path, marker: str, timeout: float = 600) -> Project:
    project = Project.create(tmp_path)
    project.path("gens/native.py").write_text(
        textwrap.dedent(_GENERATORS).replace("MARKER", marker).replace("TIMEOUT", repr(timeout))
    )
    project.edit(
        "pyproject.toml",
        'llm_plugins = ["hotdata.testing.fake_models"]',
        'llm_plugins = ["hotdata.testing.fake_models", "hotdata.testing.fake_workers"]',
    )
    return project


def _left_behind(project: Project, name: str) -> list[str]:
    folder = project.path("fixtures") / Path(name).parent
    stem = Path(name).name
    return sorted(p.name for p in folder.glob(f"{stem}*")) if folder.exists() else []


def _failure_lines(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if f"FAILED {name}:" in line]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signal_name", "said"),
    [("SIGILL", "SIGILL (illegal instruction)"), ("SIGSEGV", "SIGSEGV (segmentation fault)")],
)
def test_a_native_crash_fails_only_its_fixture_with_one_line_and_the_fix(
    tmp_path: Path, signal_name: str, said: str
) -> None:
    project = _native_project(tmp_path, f"[crash {signal_name}]")
    proc = project.doit("fixtures")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    (line,) = _failure_lines(proc.stdout, "native/bad")
    assert f"died of {said}" in line
    assert f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}"' in line and "pip install --force-reinstall" in line
    assert "Traceback" not in out and "Fatal Python error" not in out
    # the crashed fixture wrote nothing; the others of its model and of another model were built
    assert _left_behind(project, "native/bad") == []
    for name in ("native/ok_1", "native/ok_2", "agents/crisis", "agents/deliberating", "notes/welcome"):
        assert f"{name} generated" in proc.stdout, out
    assert "5 generated" in proc.stdout and "1 failed" in proc.stdout, out
    assert not list(project.root.glob("core*"))  # no core file in the project


@pytest.mark.slow
def test_a_worker_that_cannot_start_fails_its_fixtures_and_points_to_doit_doctor(tmp_path: Path) -> None:
    project = _native_project(tmp_path, "")
    project.edit(
        "gens/native.py",
        'model="hotdata-fake-worker", variants',
        'model="hotdata-fake-worker:dies-at-start", variants',
    )
    proc = project.doit("fixtures:native/ok_1", "fixtures:native/ok_2", "fixtures:notes/welcome")
    assert proc.returncode != 0
    for name in ("native/ok_1", "native/ok_2"):
        (line,) = _failure_lines(proc.stdout, name)
        assert "died of SIGILL" in line and "`doit doctor`" in line
        assert _left_behind(project, name) == []
    assert "notes/welcome generated" in proc.stdout


@pytest.mark.slow
def test_fixture_timeout_stops_a_decode_blocked_in_native_code(tmp_path: Path) -> None:
    project = _native_project(tmp_path, "[block]", timeout=5)
    proc = project.doit("fixtures")
    out = proc.stdout + proc.stderr
    (line,) = _failure_lines(proc.stdout, "native/bad")
    assert "did not finish within fixture_timeout = 5s" in line
    assert _left_behind(project, "native/bad") == []
    for name in ("native/ok_1", "native/ok_2"):  # served by a fresh worker after the kill
        assert f"{name} generated" in proc.stdout, out
    calls = [json.loads(line) for line in project.log.read_text().splitlines()]
    blocked = [c["pid"] for c in calls if "[block]" in c["prompt"]]
    assert blocked, calls
    for pid in {c["pid"] for c in calls if c.get("pid")}:
        _wait_gone(pid)  # no worker outlives the build


@pytest.mark.slow
def test_ctrl_c_stops_the_build_and_its_worker_at_once(tmp_path: Path) -> None:
    project = _native_project(tmp_path, "[block]")
    proc = project.popen("fixtures:native/bad")
    try:
        project.wait_for_call()  # the worker has begun the blocked decode
        pid = json.loads(project.log.read_text().splitlines()[0])["pid"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "hotdata: interrupted" in out
    _wait_gone(pid)
    assert _left_behind(project, "native/bad") == []


# -- the build this machine has ------------------------------------------------------------


def test_the_installed_llama_cpp_is_portable() -> None:
    """The README's set-up gives a build for any x86-64 with AVX2 (or arm64): no AVX-512 or
    AMX compiled in, which die with SIGILL on machines (or VMs) that do not run them."""
    build = read_build()
    assert build.version is not None, "llama-cpp-python is not installed: run the README's set-up"
    assert build.problem is None, build.problem
    assert not any(f.startswith("AMX") for f in build.features), build.describe()
    assert build.portable, build.describe()


def _setup_command(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("python3 -m venv .venv")]
    assert len(lines) == 1, lines
    return lines[0]


def test_ci_and_the_readme_use_the_same_portable_set_up_command() -> None:
    readme = _setup_command((ROOT / "README.md").read_text())
    ci = _setup_command((ROOT / ".ci/run").read_text()).split(" || ")[0]
    assert ci == readme
    assert f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}"' in readme
    assert readme.endswith("-m hotdata.make.embedded --repair")


@pytest.mark.embedded
def test_the_build_check_names_the_build_and_proves_it_with_a_decode() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTDATA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "hotdata.make.embedded"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "portable build (" in proc.stdout
    assert "one-token decode in a worker process: ok" in proc.stdout


# -- doit doctor -----------------------------------------------------------------------------

SECRET = "sk-doctor-0123456789abcdef0123456789abcdef"


@pytest.mark.slow
def test_doctor_says_what_would_replay_and_what_would_cost_without_asking_a_model(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)
    project.calls()  # forget the build's calls
    # code that changes no prompt: stale, replayable; a template change: the model must be asked
    project.edit(
        "gens/agents.py",
        "    return await ctx.generate(ctx.render())",
        "    prompt = ctx.render()\n    return await ctx.generate(prompt)",
    )
    project.edit("templates/note.j2", "", "A new first line.\n")
    proc = project.doit("doctor")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "doit doctor: llama.cpp: llama-cpp-python" in out and "portable build (" in out
    assert "doit doctor: llama.cpp: one-token decode in a worker process: ok" in out
    assert "doit doctor: model hotdata-fake (3 fixture(s) and the default): resolved by llm" in out
    assert "doit doctor: replay: auto" in out
    assert "doit doctor: replay: 3 fixture(s) to rebuild; 2 replay from recorded answers" in out
    assert "  need model calls: notes/welcome" in out
    assert project.calls() == []  # nothing was asked of any model
    assert "Traceback" not in out + proc.stderr


@pytest.mark.slow
def test_doctor_says_whether_the_key_is_there_and_never_prints_it(tmp_path: Path) -> None:
    from hotdata.testing import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        user_dir = tmp_path / "llm"
        server.write_llm_config(user_dir, "fake-gpt", api_key_name="fakeprovider")
        project = Project.create(tmp_path)
        env = {"LLM_USER_PATH": str(user_dir), "HOTDATA_MODEL": "fake-gpt"}

        missing = project.doit("doctor", env=env)
        assert missing.returncode != 0
        assert "key: MISSING; set it with `llm keys set fakeprovider`" in missing.stdout

        (user_dir / "keys.json").write_text(json.dumps({"fakeprovider": SECRET}))
        present = project.doit("doctor", env=env)
        assert "key: present (`llm keys set fakeprovider` or $OPENAI_API_KEY)" in present.stdout
        assert (
            "doit doctor: replay: 3 fixture(s) to rebuild; 0 replay from recorded answers" in present.stdout
        )
        for proc in (missing, present):
            assert SECRET not in proc.stdout + proc.stderr
            assert SECRET[:12] not in proc.stdout + proc.stderr
        assert server.requests == []  # nothing was asked, nothing billed

        unknown = project.doit("doctor", env={**env, "HOTDATA_MODEL": "no-such-model"})
        assert unknown.returncode != 0
        assert "model no-such-model (3 fixture(s) and the default): no llm plugin serves it" in unknown.stdout
