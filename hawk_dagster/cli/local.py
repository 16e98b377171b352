"""``hawk local eval-set``: the whole pipeline (run the grid, import the logs) through Dagster on this machine."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hawk_dagster.cli.common import (
    EXIT_EVAL_FAILED,
    EXIT_OK,
    exit_quickly,
    fail_bad_input,
    secrets_options,
    skip_confirm_option,
)
from hawk_dagster.execution.standby import StandbyRunner, discard_standby_runners
from hawk_dagster.names import (
    EVAL_LOGS,
    EVAL_SET_PIPELINE,
    EVAL_WAREHOUSE,
    SCAN_PIPELINE,
    SCAN_RESULTS,
    TAG_SOURCE,
)

if TYPE_CHECKING:
    import dagster as dg
    from rich.console import Console
    from rich.table import Table

    from hawk_dagster.storage.root import StorageRoot

# Dagster and the definitions are imported only once the input is known to be good: bad input fails in well under a
# second instead of after loading the whole code location. The config models and the planning are imported inside
# the commands too, so that `hawk local eval-set` starts its runner (execution/standby.py) before loading them.


@click.group()
def local() -> None:
    """Run configs on this machine, through a local Dagster instance."""


@local.command("eval-set")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--direct", is_flag=True, help="Run Inspect inside this process, in the current environment (debugging)."
)
@secrets_options
@skip_confirm_option
def local_eval_set(
    config: Path,
    direct: bool,
    secret_names: tuple[str, ...],
    secrets_files: tuple[Path, ...],
    skip_confirm: bool,
) -> None:
    """Run CONFIG's grid end to end: Inspect writes the .eval logs, then they are imported into the warehouse.

    Exit codes: 0 done, 1 the eval (or its import) failed, 2 bad input.
    """
    if not config.is_file():
        fail_bad_input(f"{config}: no such file")
    # Inspect's imports and the task building overlap with the rest of this command.
    standby = None if direct else StandbyRunner()
    from hawk_runner.reporting import OUTPUT_FILE_ENV
    from hawk_runner.secrets import MissingSecretsError, check_secrets

    from hawk_dagster.cli.configs import load_config_or_exit
    from hawk_dagster.cli.state import remember_eval_set
    from hawk_dagster.config.ids import generate_eval_set_id
    from hawk_dagster.evals.planning import build_run_plan
    from hawk_dagster.execution.secrets import SecretsError, collect_secrets
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.storage.submissions import Submission, write_submission

    loaded = load_config_or_exit(config, skip_confirm=skip_confirm)
    try:
        secrets = collect_secrets(secret_names, secrets_files)
        eval_set_id = loaded.config.eval_set_id or generate_eval_set_id(loaded.config.name)
        storage = StorageRoot.from_env()
        plan = build_run_plan(loaded, eval_set_id=eval_set_id, log_dir=storage.eval_log_dir(eval_set_id))
        check_secrets(plan.required_secrets, secrets)
    except (SecretsError, MissingSecretsError) as ex:
        fail_bad_input(str(ex))
    if direct and plan.packages:
        click.echo(
            "warning: --direct runs in the current environment; make sure these are installed: "
            + ", ".join(plan.packages),
            err=True,
        )
    from hawk_dagster.access.stored_groups import current_rules, record_eval_set_groups
    from hawk_dagster.config.errors import ConfigError

    try:
        rules = current_rules(
            storage
        )  # a model-groups file that cannot be used refuses before anything is written
    except ConfigError as ex:
        fail_bad_input(str(ex))
    os.environ.update(secrets)  # inherited by the runner process only; never written anywhere
    state_dir = storage.state_dir
    runner_output = storage.runner_logs_dir / f"{eval_set_id}.log"
    if standby is not None and plan.packages:
        standby.stop()  # the run needs the packages' environment, not this one
    elif standby is not None:
        standby.offer(eval_set_id, plan, {**secrets, OUTPUT_FILE_ENV: str(runner_output)})

    write_submission(
        storage,
        Submission.new(
            eval_set_id,
            loaded.text,
            source=str(config.resolve()),
            base_dir=str(config.resolve().parent),
        ),
    )
    record_eval_set_groups(storage, eval_set_id, loaded.config, rules)
    remember_eval_set(storage.uri, eval_set_id)
    try:
        code = _run_pipeline(storage, state_dir, eval_set_id, len(plan.cells), direct, runner_output)
    finally:
        discard_standby_runners()  # unclaimed: the run failed before its step
    exit_quickly(code)


def _run_pipeline(
    storage: StorageRoot, state_dir: Path, eval_set_id: str, n_cells: int, direct: bool, runner_output: Path
) -> int:
    from hawk_dagster.deployment.local_instance import local_instance, start_storage_server

    start_storage_server(state_dir)  # the instance's PostgreSQL starts while Dagster is imported
    from hawk_dagster.cli.console import stdout_console
    from hawk_dagster.cli.live_view import RunWatcher
    from hawk_dagster.definitions import build_definitions
    from hawk_dagster.partitions import EVAL_SETS

    console = stdout_console()
    instance = local_instance(state_dir)
    if not instance.has_dynamic_partition(EVAL_SETS, eval_set_id):
        instance.add_dynamic_partitions(EVAL_SETS, [eval_set_id])
    defs = build_definitions(
        storage_root=storage.uri,
        direct=direct,
        runner_output_dir=str(runner_output.parent),
        deployment="local",
    )
    job = defs.resolve_job_def(EVAL_SET_PIPELINE)
    run_id = str(uuid.uuid4())
    console.print(f"eval set [bold]{eval_set_id}[/bold]: {n_cells} cell(s); Dagster run {run_id}")
    # Once the runner is evaluating (its first progress line), this process idles: prepare the warehouse meanwhile.
    # Earlier, it would compete for the interpreter lock with the run's own set-up.
    prepare = threading.Thread(target=_prepare_warehouse, args=(state_dir,), daemon=True)
    watcher = RunWatcher(instance, run_id, console, on_first_progress=prepare.start)
    watcher.start()
    try:
        result = job.execute_in_process(
            instance=instance,
            partition_key=eval_set_id,
            run_id=run_id,
            raise_on_error=False,
            # The live view and the final report speak for the run; Dagster's console logger would repeat every
            # event (and whole tracebacks) on the terminal. Everything is still in the run's event log.
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={TAG_SOURCE: "hawk local eval-set"},
        )
    finally:
        watcher.stop()
    return _report(console, result, storage, eval_set_id, state_dir, runner_output, direct)


def _prepare_warehouse(state_dir: Path) -> None:
    """While the runner works (and this process idles), start the embedded server, migrate it and import the
    importer, so the eval_warehouse step finds them ready. A failure here is left for that step to report."""
    try:
        from hawk_dagster.warehouse.engine import open_warehouse, warehouse_url
        from hawk_dagster.warehouse.ingest import importer  # noqa: F401
        from hawk_dagster.warehouse.read import counts  # noqa: F401

        open_warehouse(warehouse_url(state_dir)).dispose()
    except Exception:
        return


def _materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    import dagster as dg

    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey(asset):
            return {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
    return {}


def _report(
    console: Console,
    result: dg.ExecuteInProcessResult,
    storage: StorageRoot,
    eval_set_id: str,
    state_dir: Path,
    runner_output: Path,
    direct: bool,
) -> int:
    from rich.markup import escape

    from hawk_dagster.cli.live_view import results_table
    from hawk_dagster.monitoring.run_failures import step_failures

    logs = _materialization_metadata(result, EVAL_LOGS)
    warehouse = _materialization_metadata(result, EVAL_WAREHOUSE)
    if logs.get("cells"):
        console.print(results_table(logs["cells"]))
    console.print(f"logs:      {storage.eval_log_dir(eval_set_id)}")
    if warehouse:
        console.print(
            f"warehouse: {warehouse.get('warehouse')} "
            f"({warehouse.get('samples_written', 0)} samples, {warehouse.get('scores_written', 0)} scores written)"
        )
    console.print(f"dagster:   `hawk dev` (DAGSTER_HOME={state_dir / 'dagster'}) shows run {result.run_id}")
    if not result.success:
        failures = step_failures(result)
        for step, reason in failures:
            console.print(f"[red]step {step} failed:[/red] {escape(reason)}", soft_wrap=True)
        if not direct and any(step == EVAL_LOGS for step, _ in failures):
            console.print(f"runner output: {runner_output}")
        return EXIT_EVAL_FAILED
    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    if failed_checks:
        console.print(f"[red]checks failed:[/red] {', '.join(failed_checks)}")
        return EXIT_EVAL_FAILED
    return EXIT_OK


@local.command("scan")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--direct", is_flag=True, help="Run Scout inside this process, in the current environment (debugging)."
)
@secrets_options
def local_scan(
    config: Path, direct: bool, secret_names: tuple[str, ...], secrets_files: tuple[Path, ...]
) -> None:
    """Run CONFIG's scanners over the transcripts of the eval sets it names, one Dagster run per eval set.

    Exit codes: 0 every scanner ran on every transcript, 1 a cell failed or some transcripts errored (see
    `hawk scan resume`), 2 bad input (nothing is launched: e.g. an eval set that does not exist).
    """
    from hawk_runner.secrets import MissingSecretsError, check_secrets

    from hawk_dagster.cli.configs import load_scan_config_or_exit
    from hawk_dagster.cli.state import remember_scan
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.config.ids import generate_eval_set_id
    from hawk_dagster.execution.secrets import SecretsError, collect_secrets
    from hawk_dagster.scans.sources import UnknownEvalSetError
    from hawk_dagster.scans.submission import submit_scan
    from hawk_dagster.storage.root import StorageRoot

    if not config.is_file():
        fail_bad_input(f"{config}: no such file")
    loaded = load_scan_config_or_exit(config)
    storage = StorageRoot.from_env()
    scan_id = loaded.config.scan_id or generate_eval_set_id(loaded.config.name, "scan")
    try:
        secrets = collect_secrets(secret_names, secrets_files)
        check_secrets(loaded.config.all_secret_names(), secrets)
        resolution = submit_scan(
            storage,
            loaded,
            scan_id=scan_id,
            config_text=loaded.text,
            base_dir=str(config.resolve().parent),
        )
    except (SecretsError, MissingSecretsError, UnknownEvalSetError, ConfigError) as ex:
        fail_bad_input(str(ex))
    os.environ.update(secrets)  # inherited by the runner process only; never written anywhere
    remember_scan(storage.uri, scan_id)
    exit_quickly(run_scan_cells(storage, scan_id, resolution.eval_set_ids, direct))


def run_scan_cells(storage: StorageRoot, scan_id: str, eval_set_ids: list[str], direct: bool) -> int:
    """Run (or resume) every given cell of a submitted scan through the local Dagster instance; the exit code."""
    state_dir = storage.state_dir
    runner_output = storage.runner_logs_dir / f"{scan_id}.log"
    return _run_scan_cells(storage, state_dir, scan_id, eval_set_ids, direct, runner_output)


def _run_scan_cells(
    storage: StorageRoot,
    state_dir: Path,
    scan_id: str,
    eval_set_ids: list[str],
    direct: bool,
    runner_output: Path,
) -> int:
    from hawk_dagster.deployment.local_instance import local_instance, start_storage_server

    start_storage_server(state_dir)  # the instance's PostgreSQL starts while Dagster is imported
    from rich.markup import escape

    from hawk_dagster.cli.console import stdout_console
    from hawk_dagster.definitions import build_definitions
    from hawk_dagster.monitoring.run_failures import step_failures
    from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key

    console = stdout_console()
    instance = local_instance(state_dir)
    if not instance.has_dynamic_partition(SCANS, scan_id):
        instance.add_dynamic_partitions(SCANS, [scan_id])
    new_eval_sets = [e for e in eval_set_ids if not instance.has_dynamic_partition(EVAL_SETS, e)]
    if new_eval_sets:
        instance.add_dynamic_partitions(EVAL_SETS, new_eval_sets)
    defs = build_definitions(
        storage_root=storage.uri,
        direct=direct,
        runner_output_dir=str(runner_output.parent),
        deployment="local",
    )
    job = defs.resolve_job_def(SCAN_PIPELINE)
    console.print(f"scan [bold]{scan_id}[/bold]: {len(eval_set_ids)} eval set(s)")
    if not direct:
        # The runner scans in its own process; meanwhile this one readies the warehouse and the results reader.
        threading.Thread(target=_prepare_scan_warehouse, args=(state_dir,), daemon=True).start()
    rows: list[tuple[str, dict[str, Any]]] = []
    failed: list[str] = []
    for eval_set_id in eval_set_ids:
        console.print(f"  scanning {eval_set_id} ...")
        result = job.execute_in_process(
            instance=instance,
            partition_key=str(scan_cell_key(scan_id, eval_set_id)),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={TAG_SOURCE: "hawk local scan"},
        )
        metadata = _materialization_metadata(result, SCAN_RESULTS)
        rows.append((eval_set_id, metadata))
        if not result.success:
            failed.append(eval_set_id)
            for _, reason in step_failures(result):
                console.print(f"[red]{eval_set_id} failed:[/red] {escape(reason)}", soft_wrap=True)
    console.print(_scan_table(state_dir, scan_id, [e for e, _ in rows]))
    console.print(f"results:   {storage.uri_of('scans', scan_id)}")
    console.print(f"dagster:   `hawk dev` (DAGSTER_HOME={state_dir / 'dagster'}) shows the scan's runs")
    incomplete = [e for e, m in rows if m and not m.get("complete")]
    if failed:
        if not direct:
            console.print(f"runner output: {runner_output}")
        return EXIT_EVAL_FAILED
    if incomplete:
        console.print(
            f"[red]some transcripts errored in:[/red] {', '.join(incomplete)}; `hawk scan resume {scan_id}`"
        )
        return EXIT_EVAL_FAILED
    return EXIT_OK


def _prepare_scan_warehouse(state_dir: Path) -> None:
    _prepare_warehouse(state_dir)
    try:
        import inspect_scout  # noqa: F401

        from hawk_dagster.warehouse.ingest import scan_import  # noqa: F401
    except Exception:
        return


def _scan_table(state_dir: Path, scan_id: str, eval_set_ids: list[str]) -> Table:
    """What the scan's cells found, per eval set, scanner and model, as the warehouse counts it: the figures of
    ``hawk list scans`` (``queries.scanner_counts``), so the two never count differently."""
    from rich.table import Table

    from hawk_dagster.warehouse.engine import open_warehouse, warehouse_url
    from hawk_dagster.warehouse.read.queries import scanner_counts

    table = Table(title="scan results")
    try:
        engine = open_warehouse(warehouse_url(state_dir))
        try:
            counts = scanner_counts(engine, scan_id, eval_set_ids)
        finally:
            engine.dispose()
    except Exception as ex:  # the import failed or the warehouse is down: the runs' own messages say more
        counts = []
        table.title = f"scan results: not in the warehouse ({type(ex).__name__}: {ex})"
    numbers = ("scanned", "positive", "errors")
    for column in ("eval set", "scanner", "model", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left")
    for row in counts:
        table.add_row(
            row["eval_set_id"], row["scanner"], row["model"] or "-", *(str(row[column]) for column in numbers)
        )
    table.caption = (
        "scanned: transcripts read; positive: results with a positive value; errors: transcripts failed"
    )
    return table
