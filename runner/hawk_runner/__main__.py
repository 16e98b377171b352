"""Entry point of the runner process: ``python -m hawk_runner``.

Under Dagster Pipes (how the ``eval_logs`` asset starts it) the plan arrives as a Pipes extra and results go back as
a materialisation. Without Pipes, ``python -m hawk_runner PLAN.json`` runs a plan file on its own, printing to the
terminal, which is handy for debugging a plan outside Dagster. ``python -m hawk_runner --standby`` starts a runner
ahead of its run (``hawk_runner.standby``).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster_pipes import PipesContext, open_dagster_pipes

from hawk_runner.log_lock import OutputFolderBusyError
from hawk_runner.parent_watch import stop_with_parent
from hawk_runner.plan import RunPlan, ScanPlan
from hawk_runner.reporting import FAILURE_MESSAGE, OUTPUT_FILE_ENV, CellProgress
from hawk_runner.secrets import MissingSecretsError
from hawk_runner.standby import STANDBY_FLAG, wait_for_run


class PipesReporter:
    def __init__(self, pipes: PipesContext) -> None:
        self.pipes = pipes

    def info(self, message: str) -> None:
        self.pipes.log.info(message)

    def warning(self, message: str) -> None:
        self.pipes.log.warning(message)

    def progress(self, progress: CellProgress) -> None:
        self.pipes.log.info(progress.to_message())

    def materialization(self, metadata: dict[str, Any], data_version: str) -> None:
        self.pipes.report_asset_materialization(metadata=metadata, data_version=data_version)

    def check(self, name: str, passed: bool, metadata: dict[str, Any]) -> None:
        self.pipes.report_asset_check(check_name=name, passed=passed, metadata=metadata, severity="WARN")


class ConsoleReporter:
    def info(self, message: str) -> None:
        print(message, flush=True)

    warning = info

    def progress(self, progress: CellProgress) -> None:
        print(f"{progress.task} [{progress.model}]: {progress.done}/{progress.total}", flush=True)

    def materialization(self, metadata: dict[str, Any], data_version: str) -> None:
        print(json.dumps(metadata, indent=2), flush=True)

    def check(self, name: str, passed: bool, metadata: dict[str, Any]) -> None:
        print(f"check {name}: {'passed' if passed else 'FAILED'} {metadata}", flush=True)


_redirected_to: str | None = None


def _redirect_output() -> None:
    # Inspect and task code print freely; when the caller shows its own progress it sends that output to a file.
    global _redirected_to
    target = os.environ.get(OUTPUT_FILE_ENV)
    if not target or target == _redirected_to:
        return
    _redirected_to = target
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _explained_failures() -> tuple[type[Exception], ...]:
    """Failures the runner explains in one line, without a traceback: missing secrets, a busy output folder, tasks
    or scanners that cannot be set up."""
    from hawk_runner.scan import ScanSetupError
    from hawk_runner.tasks import TaskLoadError

    return (MissingSecretsError, OutputFolderBusyError, TaskLoadError, ScanSetupError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _redirect_output()
    if argv[:1] == [STANDBY_FLAG]:
        if not wait_for_run(sys.stdin, on_environment=_redirect_output):
            return 0
        argv = argv[1:]
    explained = _explained_failures()
    stop_with_parent()
    print(f"hawk-runner {version('hawk-runner')} on {sys.executable}", flush=True)
    if "DAGSTER_PIPES_CONTEXT" in os.environ:
        with open_dagster_pipes() as pipes:
            try:
                return _run_under_pipes(pipes)
            except explained as ex:
                _report_failure(pipes, str(ex))
                return 2
            except Exception as ex:
                _report_failure(pipes, f"the runner failed: {type(ex).__name__}: {ex}")
                raise
    if len(argv) != 1:
        print("usage: python -m hawk_runner PLAN.json   (normally started by Dagster Pipes)", file=sys.stderr)
        return 2
    document = json.loads(Path(argv[0]).read_text())
    try:
        if "scan_id" in document:
            from hawk_runner.scan import execute_scan

            scan_outcome = execute_scan(ScanPlan.model_validate(document), ConsoleReporter())
            return 0 if scan_outcome.complete else 1
        from hawk_runner.run import execute

        outcome = execute(RunPlan.model_validate(document), ConsoleReporter())
    except explained as ex:
        print(f"hawk-runner: {ex}", file=sys.stderr)
        return 2
    return 0 if outcome.all_succeeded else 1


def _report_failure(pipes: PipesContext, reason: str) -> None:
    """Say why in the run's log and as the step's failure reason (read by the Dagster side of Pipes)."""
    pipes.log.error(reason)
    pipes.report_custom_message({FAILURE_MESSAGE: reason})
    print(f"hawk-runner: {reason}", file=sys.stderr, flush=True)


def _run_under_pipes(pipes: PipesContext) -> int:
    # An incomplete scan or failed cells are still results (the checks say so): exit 0 once something was reported.
    if "scan_plan" in pipes.extras:
        from hawk_runner.scan import execute_scan

        execute_scan(ScanPlan.model_validate(pipes.extras["scan_plan"]), PipesReporter(pipes))
        return 0
    from hawk_runner.run import execute

    execute(RunPlan.model_validate(pipes.extras["plan"]), PipesReporter(pipes))
    return 0


if __name__ == "__main__":
    code = main()
    # Skip the final garbage collection over Inspect's heap at interpreter exit (about a second on 2 cores).
    sys.stdout.flush()
    gc.disable()
    gc.freeze()
    sys.exit(code)
