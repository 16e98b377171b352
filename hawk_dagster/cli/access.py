"""``hawk access``: the model-groups file as the deployment reads it, and recomputing who may see what."""

from __future__ import annotations

import json

import click

from hawk_dagster.cli.common import fail_bad_input


@click.group("access")
def access_group() -> None:
    """Model-group access: check the model-groups file, recompute eval sets' and scans' groups."""


@access_group.command("refresh")
@click.option(
    "--no-warehouse", is_flag=True, help="Rewrite the stored files only; leave the warehouse as it is."
)
def refresh(no_warehouse: bool) -> None:
    """Recompute the access groups of every eval set and scan under the current model-groups file.

    Eval sets and scans whose stored groups were computed under other rules (or have none) are recomputed; their
    `.model-groups.json` files and the warehouse's columns are brought to the new values. Run it after editing the
    file (the server and the `model_groups_refresh` sensor also do).
    """
    from hawk_dagster.access.stored_groups import current_rules, refresh_model_groups
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.storage.root import StorageRoot

    storage = StorageRoot.from_env()
    try:
        rules = current_rules(storage)
    except ConfigError as ex:
        fail_bad_input(str(ex))
    engine = None
    if not no_warehouse:
        from hawk_dagster.cli.warehouse import warehouse_engine

        engine = warehouse_engine()
    report = refresh_model_groups(storage, engine, rules)
    click.echo(report.summary())


@access_group.command("groups")
@click.argument("models", nargs=-1, required=True)
def groups(models: tuple[str, ...]) -> None:
    """Print the access groups MODELS (provider/model names) fall in, as JSON, under the current file."""
    from hawk_dagster.access.stored_groups import current_rules
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.storage.root import StorageRoot

    try:
        rules = current_rules(StorageRoot.from_env())
    except ConfigError as ex:
        fail_bad_input(str(ex))
    by_model = {model: sorted(rules.groups_of_model(model)) for model in models}
    click.echo(
        json.dumps(
            {"file": rules.source, "found": rules.present, "models": by_model,
             "required": sorted(rules.groups_of_models(models))},
            indent=2,
        )
    )  # fmt: skip
