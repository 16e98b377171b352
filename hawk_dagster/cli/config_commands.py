"""``hawk validate`` and ``hawk schema``: check a config and see its grid before anything is submitted.

Both are static and write nothing: validation never installs a package or imports a task, so it is safe and fast
enough to run on every edit (and in CI over a folder of configs).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hawk_dagster.cli.common import load_config_or_exit
from hawk_dagster.config.grid import expand_grid, required_packages
from hawk_dagster.config.loader import LoadedEvalSet


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
    """Check an eval-set CONFIG statically and print the grid it expands to.

    Nothing is installed, imported or written. Warnings go to stderr; an invalid config prints every problem
    (file:line:column, field path, what is allowed) and exits with status 2.
    """
    loaded = load_config_or_exit(config, skip_confirm=True, confirm_unknown_keys=False)
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


@click.command()
@click.argument("kind", type=click.Choice(["eval-set"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a config KIND (for editors and the YAML language server)."""
    from hawk_dagster.config.schema import eval_set_json_schema

    click.echo(json.dumps(eval_set_json_schema(), indent=2))
