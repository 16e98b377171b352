"""How a plan executes: the runner as a Pipes subprocess (its own venv when packages are named), or, with ``direct``,
inside the current process so a debugger can step into task code. Declared secrets are checked before either starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from hawk_runner.log_lock import RUN_ID_ENV
from hawk_runner.parent_watch import PARENT_PID_ENV
from hawk_runner.plan import RunPlan, ScanPlan
from hawk_runner.reporting import FAILURE_MESSAGE, OUTPUT_FILE_ENV, CellProgress
from hawk_runner.secrets import MissingSecretsError, check_secrets
from pydantic import Field

from hawk_dagster.execution.environments import environment_key, runner_python
from hawk_dagster.execution.standby import claim_standby_runner


class _ContextReporter:
    """Reports an in-process (``direct``) run through the asset's own context, like Pipes would."""

    def __init__(self, context: dg.AssetExecutionContext) -> None:
        self.context = context
        self.results: list[dg.MaterializeResult[None] | dg.AssetCheckResult] = []

    def info(self, message: str) -> None:
        self.context.log.info(message)

    def warning(self, message: str) -> None:
        self.context.log.warning(message)

    def progress(self, progress: CellProgress) -> None:
        self.context.log.info(progress.to_message())

    def materialization(self, metadata: dict[str, Any], data_version: str) -> None:
        self.results.append(
            dg.MaterializeResult(
                metadata={k: _metadata_value(v) for k, v in metadata.items()},
                data_version=dg.DataVersion(data_version),
            )
        )

    def check(self, name: str, passed: bool, metadata: dict[str, Any]) -> None:
        self.results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={k: _metadata_value(v) for k, v in metadata.items()},
            )
        )


def _metadata_value(value: Any) -> Any:
    return dg.MetadataValue.json(value) if isinstance(value, list | dict) else value


class EvalRunnerResource(dg.ConfigurableResource["EvalRunnerResource"]):
    """Runs a plan and yields the asset's materialisation and check results."""

    direct: bool = Field(
        default=False, description="Run in this process, in the current environment (debugging)."
    )
    output_dir: str | None = Field(
        default=None,
        description="Send each runner's stdout/stderr to <output_dir>/<eval set or scan id>.log instead of the run's "
        "logs.",
    )
    environments_dir: str = Field(
        default_factory=lambda: str(Path(tempfile.gettempdir()) / "hawk-runner-envs"),
        description="Where runner environments for configs with packages are built and kept for reuse.",
    )

    def run(self, context: dg.AssetExecutionContext, plan: RunPlan) -> Iterator[Any]:
        """Run an eval set's grid; yields the ``eval_logs`` materialisation and check."""
        yield from self._run(context, plan, "plan")

    def run_scan(self, context: dg.AssetExecutionContext, plan: ScanPlan) -> Iterator[Any]:
        """Run one scan cell; yields the ``scan_results`` materialisation and check."""
        yield from self._run(context, plan, "scan_plan")

    def _run(
        self, context: dg.AssetExecutionContext, plan: RunPlan | ScanPlan, extras_key: str
    ) -> Iterator[Any]:
        try:
            check_secrets(plan.required_secrets, os.environ)
        except MissingSecretsError as exc:
            raise dg.Failure(description=str(exc)) from None
        if self.direct:
            yield from self._run_in_process(context, plan)
            return
        with contextlib.ExitStack() as stack:
            python = sys.executable
            if plan.packages:
                extras = runner_extras(plan)
                reused = environment_key(plan.packages, extras) is not None
                context.log.info(
                    f"{'environment (kept for reuse)' if reused else 'fresh environment'} with: "
                    + ", ".join(plan.packages)
                )
                environment = runner_python(plan.packages, Path(self.environments_dir), extras=extras)
                python = str(stack.enter_context(environment))
            env = {RUN_ID_ENV: context.run_id, PARENT_PID_ENV: str(os.getpid())}
            if self.output_dir:
                name = plan.scan_id if isinstance(plan, ScanPlan) else plan.eval_set_id
                env[OUTPUT_FILE_ENV] = str(Path(self.output_dir) / f"{name}.log")
            # A runner started ahead (hawk local eval-set) runs this process's Python: only for a plan without packages.
            standby_key = plan.eval_set_id if isinstance(plan, RunPlan) and not plan.packages else None
            yield from _run_runner(
                context,
                [python, "-m", "hawk_runner"],
                env,
                {extras_key: plan.model_dump(mode="json")},
                standby_key=standby_key,
            )

    def _run_in_process(self, context: dg.AssetExecutionContext, plan: RunPlan | ScanPlan) -> Iterator[Any]:
        reporter = _ContextReporter(context)
        if isinstance(plan, ScanPlan):
            from hawk_runner.scan import execute_scan

            execute_scan(plan, reporter)
        else:
            from hawk_runner.run import execute

            execute(plan, reporter)
        yield from reporter.results


def runner_extras(plan: RunPlan | ScanPlan) -> list[str]:
    """The runner's optional parts a fresh environment needs for ``plan``: Scout for a scan, S3 for an object-store
    root (the current environment has both; a fresh one has only what is asked for)."""
    extras = ["scan"] if isinstance(plan, ScanPlan) else []
    locations = [plan.log_dir, plan.results_dir] if isinstance(plan, ScanPlan) else [plan.log_dir]
    if any(location.startswith("s3://") for location in locations):
        extras.append("s3")
    return extras


# Seconds the runner gets to stop after a cancelled run forwards SIGINT, before it is killed.
TERMINATION_GRACE_SECONDS = 20


def _run_runner(
    context: dg.AssetExecutionContext,
    command: list[str],
    env: dict[str, str],
    extras: dict[str, Any],
    *,
    standby_key: str | None = None,
) -> Iterator[Any]:
    """Start the runner under Pipes (or hand the run to the runner waiting for ``standby_key``) and yield what it
    reported; a failure says why in one line.

    Written out instead of ``PipesSubprocessClient``, which raises "process failed with code N" before the runner's
    own reason (reported as a Pipes custom message) can be read.
    """
    with dg.open_pipes_session(
        context=context,
        context_injector=dg.PipesTempFileContextInjector(),
        message_reader=dg.PipesTempFileMessageReader(),
        extras=extras,
    ) as session:
        run_env = {**os.environ, **env, **session.get_bootstrap_env_vars()}
        process = claim_standby_runner(standby_key, run_env) if standby_key else None
        if process is None:
            process = subprocess.Popen(command, env=run_env)
        else:
            context.log.info("the runner started ahead of the run takes it over")
        try:
            code = process.wait()
        except dg.DagsterExecutionInterruptedError:
            context.log.info("run cancelled: asking the runner to stop")
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=TERMINATION_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
    if code != 0:
        reasons = [
            str(message[FAILURE_MESSAGE])
            for message in session.get_custom_messages()
            if isinstance(message, dict) and message.get(FAILURE_MESSAGE)
        ]
        where = f"; its output is in {env[OUTPUT_FILE_ENV]}" if OUTPUT_FILE_ENV in env else ""
        raise dg.Failure(
            description=reasons[-1] if reasons else f"the runner exited with status {code}{where}"
        )
    yield from session.get_results()
