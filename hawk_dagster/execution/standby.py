"""Runners started ahead of their run (``hawk_runner.standby``), kept in this process until a step claims one.

``hawk local eval-set`` starts one first thing, so that Inspect's imports and the task building overlap with reading
the config and with Dagster's start-up on another core; once the plan is valid it hands the standby the plan and
offers it under the eval set's id, and the ``eval_logs`` step running in the same process claims it. Anywhere else
(``hawk dev``, Kubernetes) nothing is waiting and the step starts its runner as before.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from hawk_runner.parent_watch import PARENT_PID_ENV
from hawk_runner.standby import STANDBY_FLAG

if TYPE_CHECKING:
    from hawk_runner.plan import RunPlan


class StandbyRunner:
    """One runner process on standby: started, then given a plan, then claimed by a step or stopped."""

    def __init__(self) -> None:
        # Until it is given an output file with its plan, whatever it prints (nothing, normally) goes nowhere: the
        # command's own output is the terminal. A runner that failed to start is not claimed; the step starts one.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hawk_runner", STANDBY_FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, PARENT_PID_ENV: str(os.getpid())},
        )
        _unclaimed.append(self)
        self.key: str | None = None

    def offer(self, key: str, plan: RunPlan, env: dict[str, str]) -> None:
        """Build ``plan``'s tasks with ``env`` added to the environment (secrets, the output file), and wait for the
        step that claims ``key``."""
        if self._send({"plan": plan.model_dump(mode="json"), "env": env}, close=False):
            self.key = key

    def stop(self) -> None:
        if self in _unclaimed:
            _unclaimed.remove(self)
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def _claim(self, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
        _unclaimed.remove(self)
        if self.process.poll() is not None or not self._send({"env": env}, close=True):
            return None
        return self.process

    def _send(self, message: dict[str, object], *, close: bool) -> bool:
        """Write one protocol line; on a closed pipe (the process died) stop it and say so."""
        assert self.process.stdin is not None  # started with stdin=PIPE
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
            if close:
                self.process.stdin.close()
        except OSError:
            self.stop()
            return False
        return True


_unclaimed: list[StandbyRunner] = []


def claim_standby_runner(key: str, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """The runner offered under ``key``, now running as a runner started with exactly ``env`` would; ``None`` when
    none is waiting or it has ended (the caller starts one)."""
    for standby in _unclaimed:
        if standby.key == key:
            return standby._claim(env)
    return None


def discard_standby_runners() -> None:
    """Stop the runners no step claimed (the input was bad, the run failed before its step, or needed another
    Python)."""
    while _unclaimed:
        _unclaimed[-1].stop()


atexit.register(discard_standby_runners)  # whatever way the command exits
