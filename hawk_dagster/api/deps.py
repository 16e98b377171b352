"""What routes take from the app: the warehouse engine and the storage root, made once in ``create_app``.

Dependencies that do not block are ``async``: FastAPI runs a sync dependency in a worker thread, and every such hop
costs a thread switch and a slot of the threadpool (which the blocking routes themselves need under load)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from fastapi import Request
from sqlalchemy import Engine

from hawk_dagster.api.errors import ApiError
from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    import dagster as dg

    from hawk_dagster.warehouse.read.queries import Page

_SAMPLE_UUID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def engine_of(request: Request) -> Engine:
    """The app's warehouse engine (for code already off the event loop; routes take :func:`engine`)."""
    warehouse: Engine = request.app.state.engine
    return warehouse


def storage_of(request: Request) -> StorageRoot:
    """The app's storage root (for code already off the event loop; routes take :func:`storage`)."""
    root: StorageRoot = request.app.state.storage
    return root


async def engine(request: Request) -> Engine:
    return engine_of(request)


async def storage(request: Request) -> StorageRoot:
    return storage_of(request)


def dagster_instance(request: Request) -> dg.DagsterInstance | None:
    """The Dagster instance that runs the storage root's eval sets (``DAGSTER_HOME``'s, else the root's local one),
    made on first use and kept (importing Dagster takes a second); None while there is none. Blocking."""
    state = request.app.state
    with state.instance_lock:
        if getattr(state, "instance", None) is None:
            from hawk_dagster.deployment.local_instance import existing_instance

            state.instance = existing_instance(state.storage)
        instance: dg.DagsterInstance | None = state.instance
        return instance


async def no_nul_bytes(request: Request) -> None:
    """Refuse query values holding NUL (PostgreSQL text cannot hold it: the query would fail, not miss)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise ApiError(422, f"{name!r} holds a NUL character, which no value may contain", field=name)


def checked_id(value: str, field: str) -> str:
    """An eval set or scan id from a path or query (``config.ids`` rules); 422 naming ``field`` otherwise."""
    from hawk_dagster.config.ids import validate_eval_set_id

    try:
        return validate_eval_set_id(value)
    except ValueError as ex:
        raise ApiError(422, str(ex).replace("eval set id", field), field=field) from None


def checked_uuid(value: str) -> str:
    if not _SAMPLE_UUID.match(value):
        raise ApiError(
            422,
            f"{value[:80]!r} is not a sample uuid (letters, digits, '-' and '_', at most 64)",
            field="sample_uuid",
        )
    return value


def page_body(page: Page) -> dict[str, Any]:
    """A page of a listing as every listing route answers it."""
    return {"items": page.rows, "total": page.total, "limit": page.limit, "offset": page.offset}
