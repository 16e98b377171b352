"""``/``: eval sets newest first, searched by name, id, tag or submitter, paged, with their counts and the progress of
running ones; tick several and compare them (``/compare?eval_set=A&eval_set=B``)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_SIZE: Final = 25
REFRESH_SECONDS: Final = 15
"""While a running eval set is on the page, it reloads itself this often (the selection is kept in the URL)."""


@router.get("/", response_class=HTMLResponse)
def eval_sets_page(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    search: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    selected: Annotated[list[str], Query(description="Eval sets ticked for comparison.")] = [],  # noqa: B006
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.page_figures import eval_set_progress
    from hawk_dagster.warehouse.read.queries import list_eval_sets

    search = (search or "").strip() or None
    for value in selected:
        deps.checked_id(value, "selected")
    page = list_eval_sets(engine, search=search, limit=PAGE_SIZE, offset=offset, viewer=principal)
    progress = eval_set_progress(engine, [row["eval_set_id"] for row in page.rows], viewer=principal)
    running = any(p.running for p in progress.values())
    return render(
        request,
        "eval_sets.html",
        principal,
        title="Eval sets",
        page=page,
        progress=progress,
        search=search or "",
        selected=set(selected),
        refresh=REFRESH_SECONDS if running else None,
    )
