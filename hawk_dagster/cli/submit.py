"""``hawk eval-set``: validate a config and drop it into the configs folder of the storage root, where the
deployment's sensor picks it up (the same path a YAML dropped by hand takes)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from hawk_dagster.cli.common import skip_confirm_option
from hawk_dagster.cli.configs import load_config_or_exit
from hawk_dagster.cli.state import remember_eval_set
from hawk_dagster.config.ids import generate_eval_set_id
from hawk_dagster.config.loader import with_pass_through
from hawk_dagster.storage.root import StorageRoot


def with_eval_set_id(text: str, eval_set_id: str) -> str:
    """The YAML with ``eval_set_id`` set, keeping the user's comments and layout (prepend when absent)."""
    if re.search(r"^eval_set_id\s*:", text, flags=re.MULTILINE):
        return text
    return f"eval_set_id: {eval_set_id}\n{text}"


@click.command("eval-set")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@skip_confirm_option
def submit_eval_set(config: Path, skip_confirm: bool) -> None:
    """Validate CONFIG and submit it to the deployment at HAWK_STORAGE_ROOT (e.g. s3://bucket/prefix).

    Prints the eval set id. Secrets declared in the config must be provided by the deployment's environment.
    """
    loaded = load_config_or_exit(config, skip_confirm=skip_confirm)
    eval_set_id = loaded.config.eval_set_id or generate_eval_set_id(loaded.config.name)
    storage = StorageRoot.from_env()
    target = storage.eval_set_configs / f"{eval_set_id}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    # The sensor refuses unknown top-level keys the file does not confirm: these were just confirmed (or
    # --skip-confirm said to pass them), so the file says so.
    text = with_pass_through(loaded.text, loaded.extra_eval_set_args)
    target.write_text(with_eval_set_id(text, eval_set_id))
    remember_eval_set(eval_set_id)
    click.echo(eval_set_id)
    click.echo(f"submitted to {target}", err=True)
