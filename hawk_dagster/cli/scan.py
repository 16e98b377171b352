"""``hawk scan export``: a scan's results from the warehouse as CSV (``hawk list scans`` lives with the other lists)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hawk_dagster.cli.common import secrets_options
from hawk_dagster.cli.warehouse import exits_on_unknown_id, warehouse_engine


@click.group("scan")
def scan_group() -> None:
    """Work with scans: submit them to a deployment, resume them, export their results."""


@scan_group.command("run")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def run(config: Path) -> None:
    """Validate CONFIG and submit it to the deployment at HAWK_STORAGE_ROOT (e.g. s3://bucket/prefix).

    The eval sets it names must exist there (else exit 2 and nothing is submitted). The file lands in
    <root>/configs/scans/, where the deployment's `scan_configs` sensor starts one run per eval set; local scanner
    packages it names are uploaded with it. Prints the scan id. Secrets declared in the config must be provided by
    the deployment's environment.
    """
    from hawk_dagster.cli.common import fail_bad_input
    from hawk_dagster.cli.configs import load_scan_config_or_exit
    from hawk_dagster.cli.submit import submit_remotely, submit_to_configs_folder
    from hawk_dagster.config.ids import generate_eval_set_id
    from hawk_dagster.config.local_files import scan_references
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND
    from hawk_dagster.scans.sources import UnknownEvalSetError, resolve_eval_sets
    from hawk_dagster.storage.root import StorageRoot

    loaded = load_scan_config_or_exit(config)
    if submit_remotely(config, "/api/v1/scans", loaded.text, scan_references(loaded.config), loaded.base_dir):
        return
    storage = StorageRoot.from_env()
    try:
        resolve_eval_sets(storage, loaded.config)
    except UnknownEvalSetError as ex:
        fail_bad_input(str(ex))
    scan_id = loaded.config.scan_id or generate_eval_set_id(loaded.config.name, "scan")
    assert loaded.base_dir is not None  # a local file always has its folder
    submit_to_configs_folder(
        config,
        storage,
        SCAN_CONFIGS_KIND,
        text=loaded.text,
        base_dir=loaded.base_dir,
        refs=scan_references(loaded.config),
        submission_id=scan_id,
        already_carried=loaded.config.carried_files,
    )


@scan_group.command("resume")
@click.argument("scan_id", required=False)
@click.option("--direct", is_flag=True, help="Run Scout inside this process, in the current environment.")
@secrets_options
def resume(
    scan_id: str | None, direct: bool, secret_names: tuple[str, ...], secrets_files: tuple[Path, ...]
) -> None:
    """Continue SCAN_ID (default: the last scan you ran) on this machine: only the transcripts whose scanners errored
    run again (through Scout's resume); complete cells are left as they are; the warehouse is brought up to date.

    Exit codes as for `hawk local scan`.
    """
    import os

    from hawk_runner.secrets import MissingSecretsError, check_secrets

    from hawk_dagster.cli.common import exit_quickly, fail_bad_input
    from hawk_dagster.cli.local import run_scan_cells
    from hawk_dagster.cli.state import last_scan
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.execution.secrets import SecretsError, collect_secrets
    from hawk_dagster.scans.sources import eval_set_tags, eval_sets_to_scan
    from hawk_dagster.scans.submission import load_submitted_scan
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.storage.submissions import SubmissionNotFoundError

    storage = StorageRoot.from_env()
    chosen = scan_id or last_scan(storage.uri)
    if chosen is None:
        fail_bad_input(
            f"no SCAN_ID given and no scan has run on this machine under {storage.uri}; pass an id"
        )
    try:
        scan = load_submitted_scan(storage, chosen)
        secrets = collect_secrets(secret_names, secrets_files)
        check_secrets(scan.loaded.config.all_secret_names(), secrets)
    except (SubmissionNotFoundError, ConfigError, SecretsError, MissingSecretsError) as ex:
        fail_bad_input(str(ex))
    config = scan.loaded.config
    known = eval_set_tags(storage) if config.standing else {}
    eval_sets = eval_sets_to_scan(config, scan.resolution.eval_set_ids, known)
    os.environ.update(secrets)
    exit_quickly(run_scan_cells(storage, chosen, eval_sets, direct))


@scan_group.command("export")
@click.argument("scan_id")
@click.option("--scanner", "scanner_key", help="Only this scanner key's results.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="CSV file to write ('-': stdout).",
)
@exits_on_unknown_id
def export(scan_id: str, scanner_key: str | None, output: Path) -> None:
    """Write SCAN_ID's scanner results as CSV: one row per transcript x scanner (x label), with the sample it read."""
    from hawk_dagster.cli.remote import api_url

    if api_url():
        from hawk_dagster.cli import remote

        route, params = f"/api/v1/scans/{scan_id}/results.csv", {"scanner": scanner_key}
        if str(output) == "-":
            remote.stream_to(route, params, sys.stdout)
        else:
            with output.open("w", newline="", encoding="utf-8") as out:
                remote.stream_to(route, params, out)
            click.echo(f"results written to {output}", err=True)
        return
    from hawk_dagster.warehouse.read.queries import export_scanner_results_csv

    engine = warehouse_engine()
    if str(output) == "-":
        count = export_scanner_results_csv(engine, scan_id, sys.stdout, scanner_key=scanner_key)
    else:
        with output.open("w", newline="", encoding="utf-8") as out:
            count = export_scanner_results_csv(engine, scan_id, out, scanner_key=scanner_key)
    click.echo(f"{count} result(s) written to {output}", err=True)
