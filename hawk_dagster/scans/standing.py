"""Standing scans: which scan cells should run by themselves when a matching eval set lands (Dagster-free).

``scan_cells`` is scans x eval sets, so a new eval set adds a cell for every scan. Only some of them should run: those
whose scan is ``standing`` and has an ``eval_set_tag`` / ``eval_set_id_pattern`` source matching the new eval set.
The automation condition in :mod:`hawk_dagster.scans.automation` asks :func:`standing_cells`.
"""

from __future__ import annotations

import logging

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.scan import ScanConfig
from hawk_dagster.scans.sources import eval_set_tags, matches_selectors
from hawk_dagster.scans.submission import load_submitted_scan
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import SubmissionNotFoundError

logger = logging.getLogger(__name__)


def standing_cells(storage: StorageRoot, cells: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (scan id, eval set id) cells whose scan is standing and has a selector matching the eval set."""
    if not cells:
        return set()
    tags = eval_set_tags(storage)
    configs: dict[str, ScanConfig | None] = {}
    chosen = set()
    for scan_id, eval_set_id in cells:
        if scan_id not in configs:
            try:
                configs[scan_id] = load_submitted_scan(storage, scan_id).loaded.config
            except (SubmissionNotFoundError, ConfigError) as exc:
                logger.warning("scan %s cannot be evaluated for standing runs: %s", scan_id, exc)
                configs[scan_id] = None
        config = configs[scan_id]
        if (
            config is not None
            and config.standing
            and matches_selectors(config, eval_set_id, tags.get(eval_set_id, []))
        ):
            chosen.add((scan_id, eval_set_id))
    return chosen
