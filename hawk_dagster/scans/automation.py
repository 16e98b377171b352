"""The automation condition that runs a standing scan on every matching eval set that lands later.

Dagster's conditions cannot express "this scan is standing and its selectors match this eval set" (it depends on
the configs in the storage root), so :class:`StandingScanCell` asks :func:`hawk_dagster.scans.standing.standing_cells`
and is ANDed with ``AutomationCondition.eager()`` (which supplies "newly missing, or its eval_logs partition was
updated, and nothing upstream missing or in progress"). Custom conditions are evaluated in the code location, so the
automation sensor runs with ``use_user_code_server=True``.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.partitions import split_scan_cell
from hawk_dagster.scans.standing import standing_cells
from hawk_dagster.storage.root import StorageRoot, default_storage_root


class StandingScanCell(dg.AutomationCondition[dg.AssetKey]):
    """True for the scan cells of standing scans whose selectors match the cell's eval set."""

    def __init__(self, storage_root: str | None = None) -> None:
        self.storage_root = storage_root

    @property
    def name(self) -> str:
        return "standing_scan_cell"

    @property
    def description(self) -> str:
        return "the scan is standing and an eval_set_tag / eval_set_id_pattern source matches this eval set"

    def evaluate(self, context: dg.AutomationContext[dg.AssetKey]) -> dg.AutomationResult[dg.AssetKey]:
        candidates = context.candidate_subset
        keys = candidates.expensively_compute_partition_keys()
        cells = [(*split_scan_cell(key), key) for key in keys]
        storage = StorageRoot(self.storage_root or default_storage_root())
        chosen = standing_cells(storage, [(s, e) for s, e, _ in cells])
        true_keys = {key for s, e, key in cells if (s, e) in chosen}
        return dg.AutomationResult(
            context=context, true_subset=candidates.compute_intersection_with_partition_keys(true_keys)
        )


def standing_scan_condition(storage_root: str | None = None) -> dg.AutomationCondition[dg.AssetKey]:
    """``eager() & StandingScanCell``: what ``scan_results`` runs by itself."""
    return dg.AutomationCondition.eager() & StandingScanCell(storage_root)
