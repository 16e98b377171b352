"""``hawk validate`` and ``hawk schema``: check a config and see its grid before anything is submitted.

Both are static and write nothing: validation never installs a package or imports a task, so it is safe and fast
enough to run on every edit (and in CI over a folder of configs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hawk_dagster.cli.configs import load_config_or_exit, load_scan_config_or_exit, read_config_or_exit
from hawk_dagster.config.loader import LoadedEvalSet, read_config_kind
from hawk_dagster.evals.grid import expand_grid
from hawk_dagster.evals.planning import required_packages
from hawk_dagster.scans.planning import scan_summary


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: the grid for people; json: one object per grid cell, for scripts.",
)
def validate(config: Path, output_format: str) -> None:
    """Check an eval-set or scan CONFIG statically and print what it would run.

    The kind is read from the content (a scan config has `scanners:`). An eval set prints the grid it expands to; a
    scan its scanners, sources and filters. Nothing is installed, imported or written. Warnings go to stderr; an
    invalid config prints every problem (file:line:column, field path, what is allowed) and exits with status 2.
    """
    text = read_config_or_exit(config)
    if read_config_kind(config, text=text) == "scan":
        scan = load_scan_config_or_exit(config, text=text)
        summary = scan_summary(scan)
        click.echo(json.dumps(summary, indent=2) if output_format == "json" else _scan_text(summary))
        return
    loaded = load_config_or_exit(config, skip_confirm=True, confirm_unknown_keys=False, text=text)
    if output_format == "json":
        click.echo(json.dumps(_cells_json(loaded), indent=2))
    else:
        click.echo(_grid_table(loaded))


def _cells_json(loaded: LoadedEvalSet) -> list[dict[str, object]]:
    return [
        {
            "index": index,
            "name": cell.name,
            "task": cell.task_label,
            "solver": cell.solver_label,
            "model": cell.model_label,
            "task_source": cell.task.model_dump(mode="json"),
            "solver_spec": cell.solver.model_dump(mode="json") if cell.solver else None,
            "model_spec": cell.model.model_dump(mode="json") if cell.model else None,
        }
        for index, cell in enumerate(expand_grid(loaded), start=1)
    ]


def _grid_table(loaded: LoadedEvalSet) -> str:
    cells = expand_grid(loaded)
    header = ["#", "task name", "task", "solver/agent", "model"]
    rows = [
        [
            str(index),
            cell.name,
            cell.task_label,
            cell.solver_label or "-",
            cell.model_label or "(task default)",
        ]
        for index, cell in enumerate(cells, start=1)
    ]
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()

    config = loaded.config
    eval_set_id = config.eval_set_id or "(generated at submission)"
    out = [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows), ""]
    out.append(f"{len(cells)} cell{'s' if len(cells) != 1 else ''}; eval_set_id: {eval_set_id}")
    secrets = config.all_secret_names()
    if secrets:
        out.append("required secrets: " + ", ".join(secrets) + " (pass with --secret NAME or --secrets-file)")
    packages = required_packages(loaded)
    if packages:
        out.append("packages to install: " + ", ".join(packages))
    return "\n".join(out)


def _scan_text(summary: dict[str, Any]) -> str:
    out = [f"scan_id: {summary['scan_id'] or '(generated at submission)'}"]
    out.append("scanners:")
    for scanner in summary["scanners"]:
        args = ", ".join(f"{k}={v!r}" for k, v in scanner["args"].items())
        own = "  (own filter, replacing the scan's)" if scanner["filter"] is not None else ""
        out.append(f"  {scanner['key']}: {scanner['scanner']}({args}){own}")
    out.append("sources:")
    for source in summary["sources"]:
        ((kind, value),) = source.items()
        out.append(f"  {kind}: {value}")
    if summary["filter"]:
        out.append(f"filter: {json.dumps(summary['filter'])}")
    if summary["models"]:
        out.append("models: " + ", ".join(summary["models"]))
    if summary["standing"]:
        out.append("standing: scans every matching eval set that lands later")
    if summary["schedule"]:
        out.append(f"schedule: {summary['schedule']} (UTC)")
    if summary["secrets"]:
        out.append(
            "required secrets: "
            + ", ".join(summary["secrets"])
            + " (pass with --secret NAME or --secrets-file)"
        )
    if summary["packages"]:
        out.append("packages to install: " + ", ".join(summary["packages"]))
    return "\n".join(out)


@click.command()
@click.argument("kind", type=click.Choice(["eval-set", "scan", "status"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a config KIND (for editors and the YAML language server), or of `hawk status`'s report."""
    if kind == "status":
        from hawk_dagster.monitoring.report import status_schema

        click.echo(json.dumps(status_schema(), indent=2))
        return
    from hawk_dagster.config.schema import eval_set_json_schema, scan_json_schema

    click.echo(json.dumps(eval_set_json_schema() if kind == "eval-set" else scan_json_schema(), indent=2))
