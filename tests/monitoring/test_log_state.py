"""What logs say about cells: counts, tokens, retries, attempts and errors by kind, from real Inspect logs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver

from hawk_dagster.monitoring.log_state import error_kind, read_log_state


@solver
def fails_on_odd_ids() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if int(state.sample_id) % 2:
            raise ValueError(f"sample {state.sample_id} cannot be solved")
        return state

    return solve


def flaky_task() -> Task:
    return Task(
        name="flaky",
        dataset=[Sample(id=i, input=f"What is {i} + 1?", target=str(i + 1)) for i in range(1, 5)],
        solver=[fails_on_odd_ids(), generate()],
        scorer=match(),
    )


@pytest.mark.parametrize(
    ("message", "kind", "first_line"),
    [
        (
            "ValueError: sample 3 cannot be solved\nTraceback ...",
            "ValueError",
            "ValueError: sample 3 cannot be solved",
        ),
        (
            "openai.RateLimitError: 429 Too Many Requests",
            "RateLimitError",
            "openai.RateLimitError: 429 Too Many Requests",
        ),
        ("ValueError('sample 3 cannot be solved')", "ValueError", "ValueError('sample 3 cannot be solved')"),
        ("the sandbox did not start: timeout", "error", "the sandbox did not start: timeout"),
        ("Timeout: 30 s", "Timeout", "Timeout: 30 s"),
        ("\n\n  ", "error", "(no message)"),
    ],
)
def test_error_kinds_come_from_the_exception_type(message: str, kind: str, first_line: str) -> None:
    error = error_kind(message)
    assert (error.kind, error.message) == (kind, first_line)


def test_a_log_with_sample_errors(tmp_path: Path) -> None:
    log_dir = tmp_path / "evals" / "es-1"
    (log,) = inspect_eval(
        flaky_task(), model="hawk-mock/careful", log_dir=str(log_dir), display="none", fail_on_error=False
    )
    assert log.status == "success"

    state = read_log_state(str(log_dir))

    (cell,) = state.cells
    assert (cell.task, cell.model, cell.state) == ("flaky", "hawk-mock/careful", "success")
    assert (cell.done, cell.total, cell.errors, cell.samples_in_log, cell.attempts) == (4, 4, 2, 4, 1)
    assert [e.kind for e in cell.sample_errors] == ["ValueError", "ValueError"]
    assert {e.message for e in cell.sample_errors} == {
        "ValueError('sample 1 cannot be solved')",
        "ValueError('sample 3 cannot be solved')",
    }
    usage = cell.tokens["hawk-mock/careful"]
    assert usage.input > 0 and usage.output > 0 and usage.total == usage.input + usage.output
    assert state.unreadable == []

    # A log an earlier run left, set aside as the runner sets superseded logs aside, counts as an attempt.
    superseded = log_dir / "superseded"
    superseded.mkdir()
    shutil.copy(Path(log.location.removeprefix("file://")), superseded / "old.eval.superseded")
    (superseded / "notes.txt").write_text("not a log")
    assert read_log_state(str(log_dir)).cells[0].attempts == 2


def test_an_empty_or_missing_folder_has_no_cells(tmp_path: Path) -> None:
    assert read_log_state(str(tmp_path / "nothing")).cells == []
