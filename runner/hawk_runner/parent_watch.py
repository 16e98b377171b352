"""The runner stops when the process that started it is gone.

A SIGKILLed ``hawk local eval-set`` (or Dagster step) cannot stop its child; without this the runner is re-parented
to init and keeps writing logs that no run will import, beside the runner a rerun starts. Polling ``getppid`` works
on every POSIX system and needs no cooperation from the parent (Linux's ``PR_SET_PDEATHSIG`` would fire when the
parent's *thread* ends, not its process).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

POLL_SECONDS = 1.0
PARENT_PID_ENV = "HAWK_RUNNER_PARENT_PID"
"""Set by whoever starts the runner, so a parent that died before the watch began is still noticed."""


def stop_with_parent(
    parent_pid: int | None = None, poll_seconds: float = POLL_SECONDS, name: str = "hawk-runner"
) -> threading.Thread:
    """Start a daemon thread that terminates this process once ``parent_pid`` has gone (default: the pid in
    ``HAWK_RUNNER_PARENT_PID``, else the current parent). Returns the thread. ``name`` starts its last words."""
    if parent_pid is None:
        parent_pid = int(os.environ.get(PARENT_PID_ENV) or os.getppid())
    expected = parent_pid

    def watch() -> None:
        while True:
            if os.getppid() != expected:
                print(
                    f"{name}: the process that started it (pid {expected}) is gone; stopping",
                    file=sys.stderr,
                    flush=True,
                )
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
                os._exit(1)  # SIGTERM was handled and ignored: go anyway
            time.sleep(poll_seconds)

    thread = threading.Thread(target=watch, name="hawk-runner-parent-watch", daemon=True)
    thread.start()
    return thread
