"""Standing scans: the automation condition that runs a standing scan on every matching eval set that lands later.

``scan_cells`` is scans x eval sets, so a new eval set adds a cell for every scan. Only some of them should run: those
whose scan is ``standing`` and has an ``eval_set_tag`` / ``eval_set_id_pattern`` source matching the new eval set.
Dagster's conditions cannot express that (it depends on the configs in the storage root), so
:class:`StandingScanCell` computes it and is ANDed with ``AutomationCondition.eager()`` (which supplies "newly missing,
or its eval_logs partition was updated, and nothing upstream missing or in progress"). Custom conditions are evaluated
in the code location, so the automation sensor runs with ``use_user_code_server=True``.
"""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg

from hawk_dagster.partitions import split_scan_cell
from hawk_dagster.storage import StorageRoot, default_storage_root

logger = logging.getLogger(__name__)


def standing_cells(storage: StorageRoot, cells: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (scan id, eval set id) cells whose scan is standing and has a selector matching the eval set."""
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.scan_planning import load_scan
    from hawk_dagster.scan_sources import eval_set_tags, matches_selectors
    from hawk_dagster.submission import SubmissionNotFoundError

    tags = eval_set_tags(storage)
    configs: dict[str, Any] = {}
    chosen = set()
    for scan_id, eval_set_id in cells:
        if scan_id not in configs:
            try:
                configs[scan_id] = load_scan(storage, scan_id)[0].config
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


class StandingScanCell(dg.AutomationCondition):
    """True for the scan cells of standing scans whose selectors match the cell's eval set."""

    def __init__(self, storage_root: str | None = None) -> None:
        self.storage_root = storage_root

    @property
    def name(self) -> str:
        return "standing_scan_cell"

    @property
    def description(self) -> str:
        return "the scan is standing and an eval_set_tag / eval_set_id_pattern source matches this eval set"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        candidates = context.candidate_subset
        keys = candidates.expensively_compute_partition_keys()
        cells = [(*split_scan_cell(key), key) for key in keys]
        storage = StorageRoot(self.storage_root or default_storage_root())
        chosen = standing_cells(storage, [(s, e) for s, e, _ in cells])
        true_keys = {key for s, e, key in cells if (s, e) in chosen}
        return dg.AutomationResult(
            context=context, true_subset=candidates.compute_intersection_with_partition_keys(true_keys)
        )


def standing_scan_condition(storage_root: str | None = None) -> dg.AutomationCondition:
    """``eager() & StandingScanCell``: what ``scan_results`` runs by itself."""
    return dg.AutomationCondition.eager() & StandingScanCell(storage_root)
