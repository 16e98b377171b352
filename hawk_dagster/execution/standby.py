"""Runners started ahead of their run (``hawk_runner.standby``), kept in this process until a step claims one.

``hawk local eval-set`` starts one as soon as the plan is valid, so that Inspect's imports and the task building
overlap with Dagster's start-up on another core; the ``eval_logs`` step running in the same process claims it by the
eval set's id. Anywhere else (``hawk dev``, Kubernetes) nothing is waiting and the step starts its runner as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hawk_runner.plan import RunPlan
from hawk_runner.standby import STANDBY_FLAG

_waiting: dict[str, subprocess.Popen[bytes]] = {}


def start_standby_runner(key: str, plan: RunPlan, env: dict[str, str]) -> None:
    """Start a runner in this Python for the run that will claim ``key``, with the current environment plus ``env``,
    and let it build ``plan``'s tasks."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hawk_runner", STANDBY_FLAG],
        stdin=subprocess.PIPE,
        env={**os.environ, **env},
    )
    if not _send(process, {"plan": plan.model_dump(mode="json")}, close=False):
        return
    _waiting[key] = process


def claim_standby_runner(key: str, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """The runner waiting for ``key``, now running as a runner started with exactly ``env`` would; ``None`` when none
    is waiting or it has ended (the caller starts one)."""
    process = _waiting.pop(key, None)
    if process is None or process.poll() is not None:
        return None
    return process if _send(process, {"env": env}, close=True) else None


def discard_standby_runners() -> None:
    """Stop the runners no step claimed (the run failed before its step, or the step did not need one)."""
    while _waiting:
        _, process = _waiting.popitem()
        _stop(process)


def _send(process: subprocess.Popen[bytes], message: dict[str, object], *, close: bool) -> bool:
    """Write one protocol line; on a closed pipe (the process died) stop it and say so."""
    assert process.stdin is not None  # started with stdin=PIPE
    try:
        process.stdin.write(json.dumps(message).encode() + b"\n")
        process.stdin.flush()
        if close:
            process.stdin.close()
    except OSError:
        _stop(process)
        return False
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
