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

P = ParamSpec("P")


def warehouse_engine() -> Engine:
    """The warehouse of ``HAWK_STORAGE_ROOT`` (``HAWK_WAREHOUSE_URL``, else its embedded server), migrated."""
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.engine import open_warehouse, warehouse_url

    return open_warehouse(warehouse_url(StorageRoot.from_env().state_dir))


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
