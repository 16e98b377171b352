"""Runners started ahead of their run, as ``hawk local eval-set`` starts them: handover, fallback and clean-up.

The handover inside a real run (the ``eval_logs`` step claiming the runner, which uses the tasks it built) is covered
by ``tests/cli/test_local_eval_set.py``; here the processes are checked on their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hawk_runner.reporting import OUTPUT_FILE_ENV

from hawk_dagster.execution import standby
from hawk_dagster.execution.standby import StandbyRunner, claim_standby_runner, discard_standby_runners
from tests.runner.test_standby import _plan

READY_SECONDS = 60  # a standby first imports Inspect and builds its tasks: seconds on a loaded machine


@pytest.fixture(autouse=True)
def _no_runner_left() -> Iterator[None]:
    yield
    discard_standby_runners()


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES")}


def test_a_claimed_runner_runs_with_the_run_s_environment(tmp_path: Path) -> None:
    runner = StandbyRunner()
    runner.offer("es-1", _plan(), {OUTPUT_FILE_ENV: str(tmp_path / "standby.log")})
    run_output = tmp_path / "run.log"
    # Without Pipes' variables the runner, now a normal runner without a plan file, prints its usage and exits 2:
    # into the output file the run named, not the one it was offered with.
    process = claim_standby_runner("es-1", {**_environment(), OUTPUT_FILE_ENV: str(run_output)})
    assert process is runner.process
    assert process.wait(timeout=READY_SECONDS) == 2
    assert "usage: python -m hawk_runner PLAN.json" in run_output.read_text()
    assert "usage" not in (tmp_path / "standby.log").read_text()
    assert claim_standby_runner("es-1", _environment()) is None  # claimed once


def test_nothing_to_claim_before_the_offer_for_another_key_or_once_it_died(tmp_path: Path) -> None:
    runner = StandbyRunner()
    assert claim_standby_runner("es-2", _environment()) is None  # not offered yet
    runner.offer("es-2", _plan(), {OUTPUT_FILE_ENV: str(tmp_path / "standby.log")})
    assert claim_standby_runner("another", _environment()) is None
    runner.process.kill()
    runner.process.wait()
    assert claim_standby_runner("es-2", _environment()) is None
    assert not standby._unclaimed


def test_unclaimed_runners_are_stopped(tmp_path: Path) -> None:
    offered, never_offered = StandbyRunner(), StandbyRunner()
    offered.offer("es-3", _plan(), {OUTPUT_FILE_ENV: str(tmp_path / "standby.log")})
    discard_standby_runners()
    assert offered.process.returncode is not None and never_offered.process.returncode is not None
    assert not standby._unclaimed


def test_a_standby_whose_caller_goes_away_ends_quietly(tmp_path: Path) -> None:
    runner = StandbyRunner()
    runner.offer("es-4", _plan(), {OUTPUT_FILE_ENV: str(tmp_path / "standby.log")})
    standby._unclaimed.remove(runner)
    assert runner.process.stdin is not None
    runner.process.stdin.close()  # what the caller's exit does to the pipe
    assert runner.process.wait(timeout=READY_SECONDS) == 0
    assert "Traceback" not in (tmp_path / "standby.log").read_text()
