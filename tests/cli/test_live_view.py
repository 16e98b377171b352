"""The live view's progress lines, as read back from the run's event log."""

from __future__ import annotations

import dagster as dg
import pytest
from hawk_runner.reporting import CellProgress
from rich.console import Console

from hawk_dagster.cli.live_view import RunWatcher


def test_a_resumed_cell_says_how_many_samples_it_reused(capsys: pytest.CaptureFixture[str]) -> None:
    message = CellProgress(
        task="addition", model="hawk-mock/a", done=6, errors=1, total=30, reused=4
    ).to_message()
    progress = CellProgress.from_message(message)
    assert progress is not None and progress.reused == 4
    with dg.DagsterInstance.ephemeral() as instance:
        RunWatcher(instance, "run", Console(file=None))._print_line(progress)
    assert capsys.readouterr().out == "  addition [hawk-mock/a]: 6/30 samples (4 reused), 1 errors\n"


def test_a_line_without_reused_samples_reads_as_none_reused() -> None:
    """Lines written before the field existed (a runner environment kept from an earlier version) still parse."""
    old = 'hawk-progress {"task":"t","model":"m","done":1,"errors":0,"total":2}'
    assert CellProgress.from_message(old) == CellProgress(
        task="t", model="m", done=1, errors=0, total=2, reused=0
    )
