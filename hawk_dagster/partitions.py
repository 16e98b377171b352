"""Partition definitions: one partition per eval set (and, later, per scan and scan x eval set)."""

from __future__ import annotations

import dagster as dg

EVAL_SETS = "eval_sets"

eval_sets_partitions = dg.DynamicPartitionsDefinition(name=EVAL_SETS)
