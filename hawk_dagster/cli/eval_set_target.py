"""Which eval set a monitoring command is about, and its warehouse, found without creating either (the Dagster
instance: ``deployment.local_instance.existing_instance``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hawk_dagster.cli.common import fail_bad_input

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.storage.root import StorageRoot


def eval_set_id_or_last(given: str | None) -> str:
    """The id given, else the last eval set run from this machine against the storage root (or, with
    ``HAWK_API_URL``, submitted through that API)."""
    if given:
        return given
    from hawk_dagster.cli.remote import api_url
    from hawk_dagster.cli.state import last_eval_set
    from hawk_dagster.storage.root import StorageRoot

    root = api_url() or StorageRoot.from_env().uri
    chosen = last_eval_set(root)
    if chosen is None:
        fail_bad_input(
            f"no EVAL_SET_ID given and no eval set has run on this machine under {root}; pass an id"
        )
    return chosen


def existing_warehouse(storage: StorageRoot) -> Engine | None:
    """The warehouse engine when there is one (``HAWK_WAREHOUSE_URL``, or an embedded server created here)."""
    from hawk_dagster.warehouse.embedded import is_initialised
    from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV, open_warehouse, warehouse_url

    if not os.environ.get(WAREHOUSE_URL_ENV, "").strip() and not is_initialised(storage.state_dir):
        return None
    return open_warehouse(warehouse_url(storage.state_dir))
