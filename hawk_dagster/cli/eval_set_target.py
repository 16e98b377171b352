"""Which eval set a monitoring command is about (the warehouse: ``cli.warehouse.existing_warehouse``; the Dagster
instance: ``deployment.local_instance.existing_instance``)."""

from __future__ import annotations

from hawk_dagster.cli.common import fail_bad_input


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
