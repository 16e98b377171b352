"""Runners started ahead of their run, as ``hawk local eval-set`` starts them: handover, fallback and clean-up.

The handover inside a real run (the ``eval_logs`` step claiming the runner, which uses the tasks it built) is covered
by ``tests/cli/test_local_eval_set.py``; here the processes are checked on their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hawk_runner.parent_watch import PARENT_PID_ENV
from hawk_runner.plan import RunPlan
from hawk_runner.reporting import OUTPUT_FILE_ENV

from hawk_dagster.execution import standby
from tests.runner.test_standby import _plan

READY_SECONDS = 60  # a standby first imports Inspect and builds its tasks: seconds on a loaded machine


@pytest.fixture(autouse=True)
def _no_runner_left() -> Iterator[None]:
    yield
    standby.discard_standby_runners()


def _start(key: str, output: Path, plan: RunPlan | None = None) -> None:
    standby.start_standby_runner(
        key, plan or _plan(), {PARENT_PID_ENV: str(os.getpid()), OUTPUT_FILE_ENV: str(output)}
    )


def test_a_claimed_runner_runs_with_the_run_s_environment(tmp_path: Path) -> None:
    _start("es-1", tmp_path / "standby.log")
    run_output = tmp_path / "run.log"
    # Without Pipes' variables the runner, now a normal runner without a plan file, prints its usage and exits 2:
    # into the output file the run named, not the one it was started with.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES")}
    process = standby.claim_standby_runner("es-1", {**environment, OUTPUT_FILE_ENV: str(run_output)})
    assert process is not None
    assert process.wait(timeout=READY_SECONDS) == 2
    assert "usage: python -m hawk_runner PLAN.json" in run_output.read_text()
    assert standby.claim_standby_runner("es-1", environment) is None  # claimed once


def test_nothing_to_claim_for_another_key_or_a_runner_that_died(tmp_path: Path) -> None:
    _start("es-2", tmp_path / "standby.log")
    assert standby.claim_standby_runner("another", dict(os.environ)) is None
    process = standby._waiting["es-2"]
    process.kill()
    process.wait()
    assert standby.claim_standby_runner("es-2", dict(os.environ)) is None


def test_unclaimed_runners_are_stopped(tmp_path: Path) -> None:
    _start("es-3", tmp_path / "standby.log")
    process = standby._waiting["es-3"]
    standby.discard_standby_runners()
    assert process.returncode is not None and not standby._waiting


def test_a_standby_whose_caller_goes_away_ends_quietly(tmp_path: Path) -> None:
    _start("es-4", tmp_path / "standby.log")
    process = standby._waiting.pop("es-4")
    assert process.stdin is not None
    process.stdin.close()  # what the caller's exit does to the pipe
    assert process.wait(timeout=READY_SECONDS) == 0
    assert "Traceback" not in (tmp_path / "standby.log").read_text()
