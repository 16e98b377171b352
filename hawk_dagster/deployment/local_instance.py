"""The persistent local Dagster instance under ``<state>/dagster``, shared by ``hawk local`` and ``hawk dev`` so the
Dagster UI shows every local run afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

DAGSTER_YAML = """\
# Written by hawk-dagster: the local Dagster instance (SQLite run/event storage under this folder).
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
"""


def dagster_home(state_dir: Path) -> Path:
    home = state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def local_instance(state_dir: Path) -> dg.DagsterInstance:
    import dagster as dg  # here, not at module level: `hawk dev` only needs dagster_home and then execs Dagster

    home = dagster_home(state_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
