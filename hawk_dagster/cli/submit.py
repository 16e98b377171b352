"""``hawk eval-set``: validate a config and drop it into the configs folder of the storage root, where the
deployment's sensor picks it up (the same path a YAML dropped by hand takes), with the local files it names carried
beside it (``hawk_dagster.intake.carry``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hawk_dagster.cli.common import fail_bad_input, skip_confirm_option
from hawk_dagster.cli.configs import load_config_or_exit
from hawk_dagster.config.ids import generate_eval_set_id
from hawk_dagster.config.loader import with_pass_through
from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    from hawk_dagster.config.local_files import LocalReference
    from hawk_dagster.intake.watch import WatchedKind


@click.command("eval-set")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@skip_confirm_option
def submit_eval_set(config: Path, skip_confirm: bool) -> None:
    """Validate CONFIG and submit it to the deployment at HAWK_STORAGE_ROOT (e.g. s3://bucket/prefix).

    Local files the config names (task files, Inspect Cyber folders, local packages, an approval policy) are uploaded
    with it. Prints the eval set id. Secrets declared in the config must be provided by the deployment's environment.
    """
    from hawk_dagster.config.local_files import eval_set_references
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND

    loaded = load_config_or_exit(config, skip_confirm=skip_confirm)
    text = with_pass_through(loaded.text, loaded.extra_eval_set_args)
    if submit_remotely(
        config, "/api/v1/eval-sets", text, eval_set_references(loaded.config), loaded.base_dir
    ):
        return
    eval_set_id = loaded.config.eval_set_id or generate_eval_set_id(loaded.config.name)
    storage = StorageRoot.from_env()
    assert loaded.base_dir is not None  # a local file always has its folder
    submit_to_configs_folder(
        config,
        storage,
        EVAL_SET_CONFIGS_KIND,
        # The sensor refuses unknown top-level keys the file does not confirm: these were just confirmed (or
        # --skip-confirm said to pass them), so the file says so.
        text=text,
        base_dir=loaded.base_dir,
        refs=eval_set_references(loaded.config),
        submission_id=eval_set_id,
        already_carried=loaded.config.carried_files,
    )


def submit_remotely(
    config: Path, route: str, text: str, refs: list[LocalReference], base_dir: Path | None
) -> bool:
    """With ``HAWK_API_URL`` set: submit ``text`` through the API, with the local files it names gathered and
    staged as for a storage root (and sent with it), print its id, and return True; else False."""
    import tempfile

    from hawk_dagster.cli.remote import api_url

    if not api_url():
        return False
    from hawk_dagster.cli import remote
    from hawk_dagster.intake.carry import CarryError, CarryLimits, gather, stage
    from hawk_dagster.storage.carried import FILES

    with tempfile.TemporaryDirectory(prefix="hawk-carry-") as tmp:
        bundle = None
        if refs:
            assert base_dir is not None  # a local file always has its folder
            try:
                base, files, _ = gather(base_dir, refs, CarryLimits.from_env())
            except CarryError as ex:
                fail_bad_input(f"{config}: {ex}")
            staged = Path(tmp) / FILES
            bundle = (stage(base, files, staged), staged)
        answer = remote.post_submission(route, text, bundle)
    submitted_id = answer.get("eval_set_id") or answer.get("scan_id")
    if answer.get("eval_set_id"):  # `hawk status`, `hawk logs`... default to it, as after a local run
        from hawk_dagster.cli.state import remember_eval_set

        remember_eval_set(api_url() or "", answer["eval_set_id"])
    click.echo(submitted_id)
    carried = answer.get("carried")
    if carried:
        click.echo(
            f"carried {carried['files']} file(s), {carried['bytes'] / 1024:.1f} KiB, with the config "
            f"(bundle {carried['bundle_id']})",
            err=True,
        )
    click.echo(f"submitted through {api_url()}", err=True)
    return True


def submit_to_configs_folder(
    config: Path,
    storage: StorageRoot,
    kind: WatchedKind[Any, Any],
    *,
    text: str,
    base_dir: Path,
    refs: list[LocalReference],
    submission_id: str,
    already_carried: str | None,
) -> None:
    """Submit through ``intake.submit`` (exit 2 naming the field when the config cannot be carried); print the id,
    what was carried and where the config went."""
    from hawk_dagster.intake import submit
    from hawk_dagster.intake.carry import CarryError, carried_summary

    try:
        submitted = submit.submit_to_configs_folder(
            storage,
            kind,
            text=text,
            base_dir=base_dir,
            refs=refs,
            submission_id=submission_id,
            already_carried=already_carried,
        )
    except CarryError as ex:
        fail_bad_input(f"{config}: {ex}")
    click.echo(submission_id)
    if submitted.manifest is not None:
        click.echo(carried_summary(storage, submitted.manifest), err=True)
    click.echo(f"submitted to {submitted.target}", err=True)
