"""The local instance's run launcher: Dagster's default one, plus a health check, so run monitoring can tell a run
whose process is gone from a run that is still working.

Dagster's default launcher cannot answer "is this run's worker alive?", so a run whose process was killed (a SIGKILLed
``hawk local eval-set``, a crashed run worker) would stay ``STARTED`` for ever and hold one of the queue's
``max_concurrent_runs`` slots. Every run's ``RUN_START`` event records the pid of the process that executes it (the
run worker, or the CLI process for ``hawk local``'s in-process runs); that process must still exist and be older than
the event, or the pid was reused by something else.
"""

from __future__ import annotations

import os
import signal

import psutil
from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

# A process created up to this many seconds after its RUN_START event cannot have written it (clock granularity of
# /proc's start times and of event timestamps).
START_TIME_SLACK_SECONDS = 2.0


def process_alive(pid: int, existed_at: float) -> bool:
    """Whether process ``pid`` exists, is not a zombie, and already existed at time ``existed_at``."""
    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and process.create_time() <= existed_at + START_TIME_SLACK_SECONDS
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class LocalRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` with a worker health check based on the pid that started the run."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        started = self._start(run.run_id)
        if started is None:
            # Not started yet: run monitoring's start timeout covers a worker that never starts.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run has not started yet")
        pid, timestamp = started
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run's start event has no process id")
        if process_alive(pid, timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {pid} is running")
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the process running it (pid {pid}) is gone: it was killed or crashed"
        )

    def terminate(self, run_id: str) -> bool:
        """Dagster's termination for runs in a run worker; a run ``hawk local`` executes in its own process (no
        worker to ask) gets SIGINT, as Ctrl-C would: the runner is told to stop and the run ends cancelled."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if self._get_grpc_client_for_termination(run_id) is not None:  # type: ignore[no-untyped-call]
            return bool(super().terminate(run_id))  # type: ignore[no-untyped-call]
        started = self._start(run_id)
        if started is None or started[0] is None or not process_alive(started[0], started[1]):
            return False
        self._instance.report_run_canceling(run)
        os.kill(started[0], signal.SIGINT)
        return True

    def _start(self, run_id: str) -> tuple[int | None, float] | None:
        """The pid in the run's RUN_START event and the event's time; None before the run started."""
        records = self._instance.get_records_for_run(
            run_id, of_type=DagsterEventType.RUN_START, limit=1
        ).records
        if not records:
            return None
        entry = records[0].event_log_entry
        return (entry.dagster_event.pid if entry.dagster_event is not None else None), entry.timestamp
