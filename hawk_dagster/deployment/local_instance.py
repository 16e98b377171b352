"""The persistent local Dagster instance under ``<state>/dagster``, shared by ``hawk local`` and ``hawk dev`` so the
Dagster UI shows every local run afterwards.

Its runs, events and schedules are in PostgreSQL through dagster-postgres, as in the cluster (see
:mod:`.local_storage`); the folder keeps ``dagster.yaml`` and Dagster's local artifacts (compute logs). A folder
that an older hawk-dagster wrote with SQLite storage has that history moved aside once, saying where (see
:func:`archive_sqlite_history`); a ``dagster.yaml`` the user owns (our header line removed) is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

    from hawk_dagster.storage.root import StorageRoot

# A run whose process is gone is marked failed within one poll (plus the daemon's own loop): about half a minute.
RUN_MONITORING_POLL_SECONDS = 20
# A run still STARTING after this long (its worker never came up) is failed too.
RUN_START_TIMEOUT_SECONDS = 300

HEADER = "# Written by hawk-dagster"
DAGSTER_YAML = f"""\
{HEADER}: the local Dagster instance. It is rewritten when hawk-dagster's settings
# change; delete this header line to keep your own edits.
storage:
  custom:                 # dagster-postgres's storage; the server is found when the instance loads (no URL here)
    module: hawk_dagster.deployment.local_storage
    class: LocalPostgresStorage
    config:
      local_root: {{local_root}}
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


DAGSTER_DATABASE = "dagster"
"""Database of the local instance on the embedded server (beside the warehouse's ``hawk``)."""

SQLITE_FILES = ("history", "schedules")
"""What Dagster's default SQLite storage keeps under DAGSTER_HOME (runs and event logs; schedules and sensors)."""


def config_text(state_dir: Path) -> str:
    """Our ``dagster.yaml`` for the instance of ``state_dir``."""
    return DAGSTER_YAML.replace("{local_root}", json.dumps(str(Path(state_dir).resolve())))


def dagster_home(state_dir: Path) -> Path:
    """The instance folder, with our ``dagster.yaml`` (written, or rewritten while it still carries our header).

    Cheap and without Dagster: ``hawk dev`` calls it before handing over to ``dagster dev``.
    """
    home = state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = config_text(state_dir)
    try:
        current: str | None = config.read_text()
    except FileNotFoundError:
        current = None
    if current is None or (current != wanted and current.startswith(HEADER)):
        with _home_lock(home):  # two processes starting together: one archives, both then find our config
            current = config.read_text() if config.exists() else None
            if current is None or (current != wanted and current.startswith(HEADER)):
                archive_sqlite_history(home)
                config.write_text(wanted)
    return home


def archive_sqlite_history(home: Path) -> Path | None:
    """Move an older SQLite instance's run history into ``sqlite-<time>/`` beside it, and say so on stderr.

    The archive is an instance of its own (``DAGSTER_HOME=<archive> dagster dev`` shows its runs, with their compute
    logs, which stay in this folder). Nothing is moved when there is no SQLite history.
    """
    if not (home / "history" / "runs.db").exists():
        return None
    archive = home / f"sqlite-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    archive.mkdir()
    for name in SQLITE_FILES:
        if (home / name).exists():
            shutil.move(home / name, archive / name)
    storage = json.dumps(str(home.resolve() / "storage"))
    (archive / "dagster.yaml").write_text(
        "# The SQLite run history of the local Dagster instance, moved here when it moved to PostgreSQL.\n"
        "telemetry:\n  enabled: false\n"
        f"compute_logs:\n  module: dagster._core.storage.local_compute_log_manager\n"
        f"  class: LocalComputeLogManager\n  config:\n    base_dir: {storage}\n"
    )
    sys.stderr.write(
        f"hawk: the local Dagster instance now keeps its runs in PostgreSQL; its earlier SQLite run history was moved"
        f" to {archive} (browse it with DAGSTER_HOME={archive} dagster dev)\n"
    )
    return archive


@contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """An exclusive file lock on the instance folder, held while its config is written."""
    with (home / ".hawk-config.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_storage_server(state_dir: Path) -> threading.Thread:
    """Start (or join) the embedded server the instance will load from, in a thread: a command calls this before it
    imports Dagster, so the server's start (about a second, plus ``initdb`` the first time) overlaps the import.

    Nothing to start when ``HAWK_WAREHOUSE_URL`` names a server. A failure is left for the instance's load to report.
    """

    def start() -> None:
        from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV

        if os.environ.get(WAREHOUSE_URL_ENV, "").strip():
            return
        from hawk_dagster.warehouse.embedded import ensure_embedded_server

        try:
            ensure_embedded_server(state_dir, DAGSTER_DATABASE)
        except Exception:
            return

    thread = threading.Thread(target=start, name="hawk-instance-server", daemon=True)
    thread.start()
    return thread


def local_instance(state_dir: Path) -> dg.DagsterInstance:
    import dagster as dg  # here, not at module level: `hawk dev` only needs dagster_home and then execs Dagster

    home = dagster_home(state_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def existing_instance(storage: StorageRoot) -> dg.DagsterInstance | None:
    """``DAGSTER_HOME``'s instance when set (a deployment's, or an operator's view of one), else the storage root's
    local one; None when no local instance was ever created (readers create nothing)."""
    if os.environ.get("DAGSTER_HOME", "").strip():
        import dagster as dg

        return dg.DagsterInstance.get()
    if not (storage.state_dir / "dagster" / "dagster.yaml").is_file():
        return None
    return local_instance(storage.state_dir)
