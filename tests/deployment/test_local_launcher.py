"""The local instance: its settings, and the launcher's health check that lets run monitoring fail dead runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.launcher import WorkerStatus

from hawk_dagster.deployment.local_instance import DAGSTER_YAML, config_text, dagster_home, local_instance
from hawk_dagster.deployment.local_launcher import LocalRunLauncher, process_alive

# A process that runs a one-op job in process on the local instance and sleeps inside the op.
SLEEPING_RUN = """
import sys, time
from pathlib import Path
import dagster as dg
from hawk_dagster.deployment.local_instance import local_instance

@dg.op
def sleep_forever() -> None:
    Path(sys.argv[2]).write_text("started")
    time.sleep(600)

@dg.job
def sleeper() -> None:
    sleep_forever()

sleeper.execute_in_process(instance=local_instance(Path(sys.argv[1])))
"""


def test_instance_settings_are_offline_quiet_and_monitored(local_root: Path) -> None:
    settings = yaml.safe_load(DAGSTER_YAML)
    assert settings["telemetry"] == {"enabled": False}
    assert settings["nux"] == {"enabled": False}
    instance = local_instance(local_root)
    assert isinstance(instance.run_launcher, LocalRunLauncher)
    assert instance.run_monitoring_enabled and instance.run_monitoring_poll_interval_seconds <= 30
    limits = settings["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert limits == [{"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_an_older_managed_config_is_upgraded_and_an_edited_one_kept(tmp_path: Path) -> None:
    config = tmp_path / "dagster" / "dagster.yaml"
    config.parent.mkdir()
    config.write_text(
        "# Written by hawk-dagster: the local Dagster instance.\ntelemetry:\n  enabled: false\n"
    )
    dagster_home(tmp_path)
    assert config.read_text() == config_text(tmp_path)
    config.write_text("# mine\ntelemetry:\n  enabled: false\n")
    dagster_home(tmp_path)
    assert config.read_text() == "# mine\ntelemetry:\n  enabled: false\n"


def test_process_alive_tells_a_reused_pid_from_the_original() -> None:
    assert process_alive(os.getpid(), time.time())
    assert not process_alive(os.getpid(), 0.0)  # this process did not exist in 1970: the pid was reused
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not process_alive(gone.pid, time.time())


def test_health_check_follows_the_process_that_started_the_run(tmp_path: Path, local_root: Path) -> None:
    marker = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", SLEEPING_RUN, str(local_root), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        instance = local_instance(local_root)
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert f"(pid {proc.pid}) is gone" in (health.msg or "")
