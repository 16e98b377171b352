"""The runner stops when the process that started it is SIGKILLed (it is not left running under init)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

# A parent that starts a child watching it, prints the child's pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(600)
"""
CHILD = """
import time
from hawk_runner.parent_watch import stop_with_parent
stop_with_parent(poll_seconds=0.1)
time.sleep(600)
"""


def test_child_stops_soon_after_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    child = psutil.Process(child_pid)
    time.sleep(1)  # the child is up and watching
    assert child.is_running()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    try:
        child.wait(timeout=10)
    except psutil.TimeoutExpired:
        child.kill()
        raise AssertionError("the child outlived its parent by 10 s") from None
    assert parent.stderr is not None
    assert "is gone; stopping" in parent.stderr.read()


def test_the_parent_pid_from_the_environment_wins(tmp_path: Path) -> None:
    # A parent that died before the watch started: the pid it announced is gone, so the child stops at once.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "HAWK_RUNNER_PARENT_PID": str(gone.pid)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert child.returncode == -signal.SIGTERM
    assert f"(pid {gone.pid}) is gone" in child.stderr
