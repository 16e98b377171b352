"""Which eval set a monitoring command is about, and the Dagster instance that ran it, found without creating either
(the warehouse: `cli.warehouse.existing_warehouse`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hawk_dagster.cli.common import fail_bad_input

if TYPE_CHECKING:
    import dagster as dg

    from hawk_dagster.storage.root import StorageRoot


def eval_set_id_or_last(storage: StorageRoot, given: str | None) -> str:
    """The id given, else the last eval set run on this machine against this storage root."""
    from hawk_dagster.cli.state import last_eval_set

    eval_set_id = given or last_eval_set(storage.uri)
    if not eval_set_id:
        fail_bad_input(
            f"no eval set given, and none has run from this machine against {storage.uri}: pass EVAL_SET_ID"
        )
    return eval_set_id


def existing_instance(storage: StorageRoot) -> dg.DagsterInstance | None:
    """``DAGSTER_HOME``'s instance when set (an operator's view of a deployment), else the storage root's local one;
    None when no local instance was ever created (read commands create nothing)."""
    from hawk_dagster.deployment.local_instance import local_instance

    if os.environ.get("DAGSTER_HOME", "").strip():
        import dagster as dg

        return dg.DagsterInstance.get()
    if not (storage.state_dir / "dagster" / "dagster.yaml").is_file():
        return None
    return local_instance(storage.state_dir)
