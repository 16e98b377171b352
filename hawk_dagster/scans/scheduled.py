"""Scheduled re-scans: which scan cells a ``schedule: <cron>`` scan re-runs at a given tick (Dagster-free logic).

Scan schedules live in submitted configs, not in code, so one Dagster sensor ticks every minute and asks
:func:`due_cells` which scans' crons fired in :func:`window_start`'s window (since its previous tick). A re-run covers the eval sets the scan resolved
at submission plus, for a standing scan, every eval set its selectors match now; the runner then scans only what is
new (a complete scan whose eval set gained transcripts gets a fresh scan of the current set). Cron times are UTC.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from hawk_dagster.storage.root import SCANS, StorageRoot

logger = logging.getLogger(__name__)

TICK = dt.timedelta(minutes=1)
CATCH_UP = dt.timedelta(days=1)
"""After a pause (daemon down), crons that fired up to this long ago are still run (each cell once)."""


def window_start(cursor: str | None, now: dt.datetime) -> dt.datetime:
    """Where this tick's window of cron firings starts: the previous tick's end, within ``CATCH_UP`` of now."""
    try:
        previous = dt.datetime.fromisoformat(cursor) if cursor else now - TICK
    except ValueError:
        previous = now - TICK
    return min(max(previous, now - CATCH_UP), now)


@dataclass(frozen=True)
class DueCell:
    scan_id: str
    eval_set_id: str
    fired_at: dt.datetime

    @property
    def run_key(self) -> str:
        """One run per cell and cron firing: a retried tick launches nothing twice."""
        return f"{self.scan_id}|{self.eval_set_id}@{self.fired_at.isoformat()}"


def cron_fired(cron: str, after: dt.datetime, until: dt.datetime) -> dt.datetime | None:
    """The last firing of ``cron`` in ``(after, until]`` (UTC), or None."""
    from dagster._utils.schedules import cron_string_iterator

    fired = None
    for tick in cron_string_iterator(after.timestamp() + 1e-6, cron, "UTC"):
        if tick > until:
            break
        fired = tick
    return fired


def due_cells(storage: StorageRoot, after: dt.datetime, until: dt.datetime) -> list[DueCell]:
    """Every cell of every scheduled scan whose cron fired in ``(after, until]``."""
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.scans.sources import eval_set_tags, eval_sets_to_scan
    from hawk_dagster.scans.submission import load_submitted_scan
    from hawk_dagster.storage.submissions import SubmissionNotFoundError

    scans_dir = storage.path(SCANS)
    if not scans_dir.exists():
        return []
    tags: dict[str, list[str]] | None = None
    due: list[DueCell] = []
    for folder in sorted(scans_dir.iterdir(), key=lambda p: p.name):
        try:
            scan = load_submitted_scan(storage, folder.name)
        except (SubmissionNotFoundError, ConfigError) as exc:
            logger.warning("scan %s skipped by the scheduled-scans sensor: %s", folder.name, exc)
            continue
        config = scan.loaded.config
        if config.schedule is None:
            continue
        fired = cron_fired(config.schedule, after, until)
        if fired is None:
            continue
        if config.standing and tags is None:
            tags = eval_set_tags(storage)
        eval_sets = eval_sets_to_scan(config, scan.resolution.eval_set_ids, tags or {})
        due.extend(DueCell(folder.name, eval_set_id, fired) for eval_set_id in sorted(eval_sets))
    return due
