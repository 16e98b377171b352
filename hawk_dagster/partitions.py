"""Partition definitions: one partition per eval set, per scan, and per scan x eval set ("scan cell")."""

from __future__ import annotations

import dagster as dg

EVAL_SETS = "eval_sets"
SCANS = "scans"
SCAN_DIMENSION = "scan"
EVAL_SET_DIMENSION = "eval_set"

eval_sets_partitions = dg.DynamicPartitionsDefinition(name=EVAL_SETS)
scans_partitions = dg.DynamicPartitionsDefinition(name=SCANS)
scan_cells_partitions = dg.MultiPartitionsDefinition(
    {SCAN_DIMENSION: scans_partitions, EVAL_SET_DIMENSION: eval_sets_partitions}
)
"""A scan cell: one scan's scanners over one eval set's transcripts. Adding a scan or an eval set adds cells."""


def scan_cell_key(scan_id: str, eval_set_id: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({SCAN_DIMENSION: scan_id, EVAL_SET_DIMENSION: eval_set_id})


def split_scan_cell(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(scan_id, eval_set_id) of a scan cell's partition key."""
    keys = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else _parse(key)
    return keys[SCAN_DIMENSION], keys[EVAL_SET_DIMENSION]


def _parse(key: str) -> dict[str, str]:
    # Dimensions are joined in name order: "<eval_set>|<scan>".
    eval_set_id, scan_id = key.split("|")
    return {SCAN_DIMENSION: scan_id, EVAL_SET_DIMENSION: eval_set_id}
