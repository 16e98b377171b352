"""The persistent local Dagster instance under ``<state>/dagster``, shared by ``hawk local`` and ``hawk dev`` so the
Dagster UI shows every local run afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

# A run whose process is gone is marked failed within one poll (plus the daemon's own loop): about half a minute.
RUN_MONITORING_POLL_SECONDS = 20
# A run still STARTING after this long (its worker never came up) is failed too.
RUN_START_TIMEOUT_SECONDS = 300

HEADER = "# Written by hawk-dagster"
DAGSTER_YAML = f"""\
{HEADER}: the local Dagster instance (SQLite run/event storage under this folder). It is rewritten when
# hawk-dagster's settings change; delete this header line to keep your own edits.
telemetry:
  enabled: false          # an offline platform sends nothing anywhere
nux:
  enabled: false          # no community sign-up dialog on the first visit to the UI
run_launcher:
  module: hawk_dagster.deployment.local_launcher
  class: LocalRunLauncher # Dagster's default launcher, plus a health check run monitoring can use
run_monitoring:
  enabled: true
  poll_interval_seconds: {RUN_MONITORING_POLL_SECONDS}
  start_timeout_seconds: {RUN_START_TIMEOUT_SECONDS}
  max_resume_run_attempts: 0
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: dagster/partition  # one run per eval set (or scan cell) at a time: later ones wait in the queue
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


def dagster_home(state_dir: Path) -> Path:
    """The instance folder, with our ``dagster.yaml`` (written, or rewritten while it still carries our header)."""
    home = state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    try:
        current: str | None = config.read_text()
    except FileNotFoundError:
        current = None
    if current is None or (current != DAGSTER_YAML and current.startswith(HEADER)):
        config.write_text(DAGSTER_YAML)
    return home


def local_instance(state_dir: Path) -> dg.DagsterInstance:
    import dagster as dg  # here, not at module level: `hawk dev` only needs dagster_home and then execs Dagster

    home = dagster_home(state_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
