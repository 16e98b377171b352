"""``/scans``: scans newest first, searched and paged. ``/scans/{id}``: a scan's sources, per scanner what it read and
flagged with the distribution of its values, the flagged results with their explanations (filtered by scanner,
paged), each linking to the sample it read; its CSV link is the API's export (``/api/v1/scans/{id}/results.csv``), which a signed-in browser's cookie opens."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.web import charts
from hawk_dagster.web.render import render
from hawk_dagster.web.result_links import eval_set_url, sample_url

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_SIZE: Final = 25


@router.get("/scans", response_class=HTMLResponse)
def scans_page(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    search: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.queries import list_scans

    search = (search or "").strip() or None
    page = list_scans(engine, search=search, limit=PAGE_SIZE, offset=offset, viewer=principal)
    return render(request, "scans.html", principal, title="Scans", page=page, search=search or "")


@router.get("/scans/{scan_id}", response_class=HTMLResponse)
def scan_page(
    scan_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    scanner: Annotated[
        str | None, Query(max_length=500, description="Only this scanner's flagged results")
    ] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.queries import UnknownIdError
    from hawk_dagster.warehouse.read.scan_results import flagged_results, scan_results

    deps.checked_id(scan_id, "scan_id")
    try:
        results = scan_results(engine, scan_id, viewer=principal)
    except UnknownIdError:
        raise not_found("scan") from None
    keys = [s.scanner for s in results.scanners]
    scanner = scanner or None
    if scanner is not None and scanner not in keys:
        raise ApiError(
            422, f"scan {scan_id!r} has no scanner {scanner[:80]!r}; its scanners: {', '.join(keys) or 'none'}",
            field="scanner",
        )  # fmt: skip
    flagged = flagged_results(
        engine, scan_id, scanner=scanner, limit=PAGE_SIZE, offset=offset, viewer=principal
    )
    return render(
        request,
        "scan.html",
        principal,
        title=results.name or results.scan_id,
        results=results,
        distributions={s.scanner: _distribution_chart(s) for s in results.scanners},
        scanner=scanner or "",
        page=flagged,
        eval_set_url=eval_set_url,
        sample_url=sample_url,
        csv_url=f"/api/v1/scans/{scan_id}/results.csv",
    )


def _distribution_chart(summary: object) -> Markup:
    """Numeric values as a histogram, others as one bar per value (the most frequent first)."""
    from hawk_dagster.warehouse.read.scan_results import ScannerSummary

    assert isinstance(summary, ScannerSummary)
    title = f"Values of {summary.scanner}"
    if summary.numeric:
        bins = [charts.Bin(low=b.low or 0.0, high=b.high or 0.0, count=b.count) for b in summary.distribution]
        return charts.histogram(bins, title=title, x_label="value", y_label="results")
    bars = [charts.Bar(label=b.label, value=float(b.count), text=str(b.count)) for b in summary.distribution]
    return charts.horizontal_bars(bars, title=title, value_label="results")
