"""How read commands reach the warehouse: the storage root's warehouse, opened once, and unknown ids as exit 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.storage.root import StorageRoot

P = ParamSpec("P")


def existing_warehouse(storage: StorageRoot) -> Engine | None:
    """The storage root's warehouse (``HAWK_WAREHOUSE_URL``, else its embedded server), migrated; None where no
    embedded warehouse was ever created and no URL is set (read commands create nothing)."""
    import os

    from hawk_dagster.warehouse.embedded import is_initialised
    from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV, open_warehouse, warehouse_url

    if not os.environ.get(WAREHOUSE_URL_ENV, "").strip() and not is_initialised(storage.state_dir):
        return None
    return open_warehouse(warehouse_url(storage.state_dir))


def warehouse_engine() -> Engine:
    """The warehouse of ``HAWK_STORAGE_ROOT``; where there is none (``hawk list`` in an empty folder, or a mistyped
    ``HAWK_STORAGE_ROOT``), exit 2 instead of initialising a new server there."""
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV

    storage = StorageRoot.from_env()
    engine = existing_warehouse(storage)
    if engine is None:
        click.echo(
            f"error: no warehouse under {storage.state_dir}: nothing has been imported with "
            f"HAWK_STORAGE_ROOT={storage.uri} on this machine. Run an eval set first (`hawk local eval-set CONFIG`), "
            f"or point {WAREHOUSE_URL_ENV} at a warehouse.",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)
    return engine


def exits_on_unknown_id(func: Callable[P, None]) -> Callable[P, None]:
    """Turn the warehouse's ``UnknownIdError`` into a clear message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from hawk_dagster.warehouse.read.queries import UnknownIdError

        try:
            func(*args, **kwargs)
        except UnknownIdError as ex:
            click.echo(f"error: {ex}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper
