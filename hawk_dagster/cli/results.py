"""``hawk list eval-sets|evals|samples|scans|edits``: reading the warehouse from the terminal.

Tables for people, ``--format json|csv`` for machines. Without an EVAL_SET_ID, commands use the last eval set this
user ran under the storage root. An id the warehouse does not hold exits with status 2.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from hawk_dagster.cli.common import fail_bad_input
from hawk_dagster.cli.eval_set_target import eval_set_id_or_last
from hawk_dagster.cli.remote import api_url
from hawk_dagster.cli.warehouse import exits_on_unknown_id, warehouse_engine
from hawk_dagster.warehouse.read.headline import headline_name

FORMATS = click.Choice(["table", "json", "csv"])


def _revived(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows from the API with their timestamps as datetimes again, so they print as local rows do."""
    for row in rows:
        for key in ("created_at", "completed_at"):
            if isinstance(row.get(key), str):
                row[key] = datetime.fromisoformat(row[key])
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return round(value, 4)
    return value


def _cell(value: Any) -> Any:
    """A value as one table or CSV cell: empty for NULL, lists (tags) joined by commas."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return _plain(value)


def _emit(rows: list[dict[str, Any]], columns: Sequence[str], output_format: str, title: str) -> None:
    if output_format == "json":
        click.echo(json.dumps([{c: _plain(r.get(c)) for c in columns} for r in rows], indent=2, default=str))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    else:
        from rich.table import Table

        from hawk_dagster.cli.console import stdout_console

        table = Table(title=title)
        for column in columns:
            # ids are copied into other commands: never cut them
            keep_whole = column in ("uuid", "eval_set_id", "scan_id")
            table.add_column(column, no_wrap=keep_whole, min_width=22 if column == "uuid" else None)
        for row in rows:
            table.add_row(*(str(_cell(row.get(c))) for c in columns))
        stdout_console().print(table)


@click.group("list")
def list_group() -> None:
    """List eval sets, evals, samples, scans and sample edits from the warehouse."""


@list_group.command("eval-sets")
@click.option("--search", help="Match eval set id, name, submitter or a tag (case-insensitive substring).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)
@click.option(
    "--include-deleted", is_flag=True, help="Also eval sets `hawk delete` has hidden (with who and when)."
)
def list_eval_sets(
    search: str | None, limit: int, offset: int, output_format: str, include_deleted: bool
) -> None:
    """Eval sets, newest first, with task, model and sample counts."""
    columns = ["eval_set_id", "name", "tags", "created_by", "created_at", "tasks", "models", "samples"]
    if api_url():
        from hawk_dagster.cli import remote

        if include_deleted:
            fail_bad_input(
                "--include-deleted reads this machine's warehouse; the API does not list deleted eval sets"
            )
        answer = remote.get_json("/api/v1/eval-sets", {"search": search, "limit": limit, "offset": offset})
        rows = _revived(answer["items"])
        _emit(rows, columns, output_format, f"Eval sets ({len(rows)} of {answer['total']})")
        return
    from hawk_dagster.warehouse.read.queries import list_eval_sets as query

    page = query(
        warehouse_engine(), search=search, limit=limit, offset=offset, include_deleted=include_deleted
    )
    if include_deleted:
        columns += ["deleted_at", "deleted_by"]
    _emit(page.rows, columns, output_format, f"Eval sets ({len(page.rows)} of {page.total})")


@list_group.command("evals")
@click.argument("eval_set_id", required=False)
@click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)
@exits_on_unknown_id
def list_evals(eval_set_id: str | None, output_format: str) -> None:
    """The evals (task x agent x model) of EVAL_SET_ID (default: the last one you ran)."""
    from hawk_dagster.warehouse.read.queries import list_evals as query

    chosen = eval_set_id_or_last(eval_set_id)
    if api_url():
        from hawk_dagster.cli import remote

        rows = remote.get_json(f"/api/v1/eval-sets/{chosen}/evals")[
            "items"
        ]  # headline_metric named by the server
    else:
        rows = [
            {**row, "headline_metric": headline_name(row["headline_score"], row["headline_metric"])}
            for row in query(warehouse_engine(), chosen)
        ]
    columns = [
        "task",
        "agent",
        "model",
        "status",
        "samples",
        "total",
        "errors",
        "headline_metric",
        "headline_value",
    ]
    _emit(rows, columns, output_format, f"Evals of {chosen}")


SCAN_COLUMNS = ("scan_id", "name", "created_by", "created_at", "scanners", "eval_sets", "scanned", "positive",
                "errors", "complete", "standing", "schedule")  # fmt: skip
"""``scanned``: transcripts read, summed over scanners; ``positive``: results with a positive value; ``errors``:
transcripts a scanner failed on. ``hawk local scan`` shows the same figures per scanner (``queries.scanner_counts``)."""


@list_group.command("scans")
@click.option("--search", help="Match scan id, name or submitter (case-insensitive substring).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)
def list_scans(search: str | None, limit: int, offset: int, output_format: str) -> None:
    """Scans in the warehouse, newest first: scanners, eval sets read, transcripts scanned (summed over scanners),
    positive results, errors, completeness."""
    if api_url():
        from hawk_dagster.cli import remote

        answer = remote.get_json("/api/v1/scans", {"search": search, "limit": limit, "offset": offset})
        _emit(_revived(answer["items"]), SCAN_COLUMNS, output_format, f"scans ({answer['total']} in all)")
        return
    from hawk_dagster.warehouse.read.queries import list_scans as query

    page = query(warehouse_engine(), search=search, limit=limit, offset=offset)
    _emit(page.rows, SCAN_COLUMNS, output_format, f"scans ({page.total} in all)")


@list_group.command("samples")
@click.argument("eval_set_ids", nargs=-1)
@click.option("--task", help="Only this task name.")
@click.option(
    "--task-id", help="Only this Inspect task id (one eval of a task run with several agents or args)."
)
@click.option("--model", help="Only this model.")
@click.option("--status", "statuses", multiple=True, help="success, error or <kind>_limit (repeatable).")
@click.option("--scorer", help="Score to show and filter on: NAME or NAME:KEY (default: the headline score).")
@click.option("--score-min", type=float, help="Lowest score to keep.")
@click.option("--score-max", type=float, help="Highest score to keep.")
@click.option("--search", "text", help="Text in the sample (id, input, target, output) or its transcript.")
@click.option("--invalid/--valid", default=None, help="Only invalidated samples, or only valid ones.")
@click.option("--include-deleted", is_flag=True, help="Also samples of eval sets `hawk delete` has hidden.")
@click.option("--sort", default="completed_at", show_default=True, help="Column to sort on.")
@click.option("--desc", is_flag=True, help="Sort descending.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--all", "everything", is_flag=True, help="Every match, streamed (ignores --limit/--offset).")
@click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)
@exits_on_unknown_id
def list_samples(
    eval_set_ids: tuple[str, ...],
    task: str | None,
    task_id: str | None,
    model: str | None,
    statuses: tuple[str, ...],
    scorer: str | None,
    score_min: float | None,
    score_max: float | None,
    text: str | None,
    invalid: bool | None,
    include_deleted: bool,
    sort: str,
    desc: bool,
    limit: int,
    offset: int,
    everything: bool,
    output_format: str,
) -> None:
    """Samples of one or more EVAL_SET_IDS (default: the last one you ran), filtered, sorted and paged."""
    ids = list(eval_set_ids) or [eval_set_id_or_last(None)]
    if api_url():
        if include_deleted:
            fail_bad_input(
                "--include-deleted reads this machine's warehouse; the API does not list deleted eval sets"
            )
        _list_samples_remote(
            ids, {"task": task, "task_id": task_id, "model": model, "status": list(statuses), "scorer": scorer,
                  "score_min": score_min, "score_max": score_max, "search": text, "invalid": invalid, "sort": sort,
                  "desc": desc},
            limit, offset, everything, output_format,
        )  # fmt: skip
        return
    from hawk_dagster.warehouse.read import queries

    try:
        f = queries.SampleFilter(
            eval_set_ids=ids, task=task, task_id=task_id, model=model, statuses=statuses, scorer=scorer,
            score_min=score_min, score_max=score_max, text=text, invalid=invalid, include_deleted=include_deleted,
            sort=sort, descending=desc, limit=limit, offset=offset,
        )  # fmt: skip
    except ValueError as ex:
        fail_bad_input(str(ex))
    engine = warehouse_engine()
    for eval_set_id in ids:
        queries.list_evals(engine, eval_set_id)  # raises UnknownIdError for an id the warehouse lacks
    queries.require_scorer(engine, f)  # a misspelt --scorer: exit 2 naming the scorers there are
    if everything and output_format == "csv":
        queries.export_samples_csv(engine, f, sys.stdout)
        return
    columns = list(SAMPLE_COLUMNS)
    if len(ids) > 1:
        columns.insert(1, "eval_set_id")
    if output_format == "csv":  # a page, in the export's format (written by PostgreSQL)
        queries.export_samples_csv(engine, f, sys.stdout, columns=columns, paged=True)
        return
    if everything:
        rows = list(queries.iter_samples(engine, f))
        title = f"Samples ({len(rows)})" if rows else "No samples"
    else:
        page = queries.list_samples(engine, f)
        rows, title = page.rows, page_title(offset, len(page.rows), page.total, limit)
    if not rows and output_format == "table":
        click.echo(title)  # an empty table would only repeat the column names
        return
    _emit(rows, columns, output_format, title)


SAMPLE_COLUMNS = [
    "uuid",
    "task",
    "model",
    "id",
    "epoch",
    "status",
    "score",
    "total_tokens",
    "completed_at",
    "error",
]


def _list_samples_remote(
    ids: list[str], filters: dict[str, Any], limit: int, offset: int, everything: bool, output_format: str
) -> None:
    """``hawk list samples`` through the API: the same filters, pages, formats and titles."""
    from hawk_dagster.cli import remote

    params = {"eval_set_id": ids, **filters}
    if everything and output_format == "csv":
        remote.stream_to("/api/v1/samples/export.csv", params, sys.stdout)
        return
    columns = list(SAMPLE_COLUMNS)
    if len(ids) > 1:
        columns.insert(1, "eval_set_id")
    if everything:
        rows: list[dict[str, Any]] = []
        while True:
            answer = remote.get_json("/api/v1/samples", {**params, "limit": 1000, "offset": len(rows)})
            rows.extend(answer["items"])
            if not answer["items"] or len(rows) >= answer["total"]:
                break
        title = f"Samples ({len(rows)})" if rows else "No samples"
    else:
        answer = remote.get_json("/api/v1/samples", {**params, "limit": limit, "offset": offset})
        rows = answer["items"]
        title = page_title(offset, len(rows), answer["total"], limit)
    if not rows and output_format == "table":
        click.echo(title)
        return
    _emit(_revived(rows), columns, output_format, title)


def page_title(offset: int, shown: int, total: int, limit: int) -> str:
    """What a page of ``total`` samples holds, from ``offset``: "Samples 51-100 of 240", or why it is empty."""
    if total == 0:
        return "No samples"
    if offset >= total:
        pages = -(-total // limit)
        where = f"page {offset // limit + 1}" if offset % limit == 0 else f"offset {offset}"
        return (
            f"{where} is past the end: {total} sample{'s' if total != 1 else ''}, "
            f"{pages} page{'s' if pages != 1 else ''} of {limit}"
        )
    return f"Samples {offset + 1}-{offset + shown} of {total}"


@list_group.command("edits")
@click.argument("eval_set_id", required=False)
@click.option("--sample", "sample_uuid", help="Only the edits of this sample (any eval set).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)
@exits_on_unknown_id
def list_edits(
    eval_set_id: str | None, sample_uuid: str | None, limit: int, offset: int, output_format: str
) -> None:
    """Sample edits (`hawk edit-samples`) of EVAL_SET_ID (default: the last one you ran) or of one --sample,
    newest first: who, when, what before and after, why."""
    from hawk_dagster.edits.audit import EDIT_COLUMNS

    chosen = None if sample_uuid and not eval_set_id else eval_set_id_or_last(eval_set_id)
    if api_url():
        from hawk_dagster.cli import remote

        params = {"eval_set_id": chosen, "sample_uuid": sample_uuid, "limit": limit, "offset": offset}
        rows = remote.call_json("GET", "/api/v1/sample-edits", params)["items"]
        for row in rows:
            row["edited_at"] = datetime.fromisoformat(row["edited_at"])
    else:
        from hawk_dagster.edits.audit import eval_set_exists
        from hawk_dagster.edits.audit import list_edits as query
        from hawk_dagster.warehouse.read.queries import UnknownIdError

        engine = warehouse_engine()
        if chosen is not None and not eval_set_exists(engine, chosen):
            raise UnknownIdError(f"no eval set {chosen!r} in the warehouse")
        rows = query(engine, eval_set_id=chosen, sample_uuid=sample_uuid, limit=limit, offset=offset)
    if output_format != "json":  # one cell each: compact JSON
        rows = [
            {**row, **{c: json.dumps(row[c], default=str) for c in ("before", "after") if row[c] is not None}}
            for row in rows
        ]
    if not rows and output_format == "table":
        click.echo("No edits")
        return
    columns = [c for c in EDIT_COLUMNS if output_format != "table" or c not in ("request_id", "eval_set_id")]
    _emit(rows, columns, output_format, f"Edits of {sample_uuid or chosen} ({len(rows)})")
