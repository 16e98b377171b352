"""A failed step is reported as its innermost cause, in one line."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from hawk_dagster.monitoring.run_failures import failure_reason, step_failures


def _error(message: str, cause: SerializableErrorInfo | None = None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message=message, stack=["  File ..."], cls_name="X", cause=cause)


def test_the_innermost_cause_without_its_module_path() -> None:
    cause = _error(
        "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: server closed the connection\n"
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)\n"
    )
    wrapped = _error(
        "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while ...", cause
    )
    assert failure_reason(wrapped) == (
        "OperationalError: (psycopg.OperationalError) connection failed: server closed the connection"
    )


def test_a_description_is_kept_as_written_on_one_line() -> None:
    assert failure_reason(_error("ignored"), "the folder is busy;\n  wait") == "the folder is busy; wait"
    assert failure_reason(None) == "no reason was recorded"


def test_through_dagster_a_raised_error_and_a_failure(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    @dg.op
    def explodes() -> None:
        raise ConnectionRefusedError("warehouse at /tmp/pg is not answering")

    @dg.op
    def refuses() -> None:
        raise dg.Failure(description="eval set x's log folder is in use")

    @dg.job
    def both() -> None:
        explodes()
        refuses()

    instance = dagster_instance
    result = both.execute_in_process(instance=instance, raise_on_error=False)
    assert sorted(step_failures(result)) == [
        ("explodes", "ConnectionRefusedError: warehouse at /tmp/pg is not answering"),
        ("refuses", "eval set x's log folder is in use"),
    ]


def test_an_interrupted_step_reads_as_cancelled() -> None:
    interrupted = SerializableErrorInfo(
        message="dagster._core.errors.DagsterExecutionInterruptedError\n",
        stack=[],
        cls_name="DagsterExecutionInterruptedError",
    )
    assert failure_reason(interrupted) == "cancelled (by `hawk delete`, Ctrl-C or the Dagster UI)"
