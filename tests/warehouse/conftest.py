"""Real Inspect logs for the warehouse tests, generated offline once per session.

- ``eval_logs_dir``: ``eval_set`` over the ``arith`` and ``multi`` tasks (one log each).
- ``agent_logs_dir``: one log of the ``agentic`` task (multi-turn tool transcripts, a grader model role).
- ``resumed_logs``: the ``slow`` task run in a subprocess, SIGKILLed after a few samples were flushed (leaving a
  ``status="started"`` log), then resumed in-process on the same log dir (a second log, same task_id).

Tests must not modify these directories: copy them first (``copy_logs``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

TASKS_FILE = Path(__file__).with_name("eval_tasks.py")


def _load_tasks_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hawk_warehouse_test_eval_tasks", TASKS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def eval_tasks() -> ModuleType:
    """The test task module (constants describe what the generated logs contain)."""
    return _load_tasks_module()


@pytest.fixture(scope="session")
def eval_logs_dir(
    tmp_path_factory: pytest.TempPathFactory, eval_tasks: ModuleType, isolated_user_state: Path
) -> Path:
    """A log dir holding one successful log for each of ``arith`` and ``multi``."""
    from inspect_ai import eval_set
    from inspect_ai.model import get_model

    log_dir = tmp_path_factory.mktemp("eval-logs")
    ok, logs = eval_set(
        [f"{TASKS_FILE}@arith", f"{TASKS_FILE}@multi"],
        log_dir=str(log_dir),
        model=get_model(eval_tasks.MOCK_MODEL, custom_outputs=eval_tasks.mock_answer),
        display="none",
        retry_attempts=1,
    )
    assert ok, [(log.eval.task, log.status, log.error) for log in logs]
    assert len(list(log_dir.glob("*.eval"))) == 2
    return log_dir


@pytest.fixture(scope="session")
def agent_logs_dir(
    tmp_path_factory: pytest.TempPathFactory, eval_tasks: ModuleType, isolated_user_state: Path
) -> Path:
    """A log dir holding one log of the ``agentic`` task (tool calls, a tool error, reasoning, a grader role)."""
    log_dir = tmp_path_factory.mktemp("agent-logs")
    assert eval_tasks.run_agentic(str(log_dir))
    assert len(list(log_dir.glob("*.eval"))) == 1
    return log_dir


@dataclass(frozen=True)
class ResumedLogs:
    """The killed-then-resumed log dir, and a copy of it taken between the kill and the resume."""

    log_dir: Path
    killed_snapshot: Path
    flushed_before_kill: int


@pytest.fixture(scope="session")
def resumed_logs(
    tmp_path_factory: pytest.TempPathFactory, eval_tasks: ModuleType, isolated_user_state: Path
) -> ResumedLogs:
    from inspect_ai.log import read_eval_log_sample_summaries

    log_dir = tmp_path_factory.mktemp("resumed-logs")
    env = {**os.environ, eval_tasks.DELAY_ENV: "0.2"}
    proc = subprocess.Popen(
        [sys.executable, str(TASKS_FILE), str(log_dir)],
        env=env,
        cwd=os.getcwd(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    flushed = 0
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            logs = list(log_dir.glob("*.eval"))
            if not logs:
                continue
            try:
                flushed = len(read_eval_log_sample_summaries(str(logs[0])))
            except Exception:
                continue  # caught mid-write: try again
            if flushed >= 4:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (
        f"the slow run was not killed mid-way: {stderr.decode()[-2000:]}"
    )
    assert 4 <= flushed < eval_tasks.SLOW_SAMPLES

    snapshot = tmp_path_factory.mktemp("resumed-logs-killed")
    shutil.copytree(log_dir, snapshot, dirs_exist_ok=True)

    assert eval_tasks.run_slow(str(log_dir)), "resuming the killed run failed"
    assert len(list(log_dir.glob("*.eval"))) == 2, "expected the stale started log plus the resumed log"
    return ResumedLogs(log_dir=log_dir, killed_snapshot=snapshot, flushed_before_kill=flushed)


@pytest.fixture
def copy_logs(tmp_path: Path) -> Callable[[Path], Path]:
    """Copy a generated log dir into this test's tmp dir, so the test can damage or extend it."""
    counter = iter(range(1000))

    def copy(source: Path) -> Path:
        target = tmp_path / f"logs-{next(counter)}"
        shutil.copytree(source, target)
        return target

    return copy
