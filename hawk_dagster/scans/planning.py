"""From a scan config to what runs: the summary ``hawk validate`` prints, and each cell's ``ScanPlan`` (with its share
of what submission resolved)."""

from __future__ import annotations

from typing import Any

from hawk_runner.plan import ScannerSpec, ScanPlan

from hawk_dagster.config.ids import validate_eval_set_id, validate_scan_id
from hawk_dagster.config.loader import LoadedScan
from hawk_dagster.config.model_groups import PackageModelGroup
from hawk_dagster.config.scan import PackageScannerGroup, TranscriptFilterConfig, scanner_registry_name
from hawk_dagster.execution.specs import model_spec, resolve_package_specs, role_models
from hawk_dagster.scans.sources import eval_set_tags, eval_set_tags_of, eval_sets_to_scan, is_source
from hawk_dagster.scans.submission import SubmittedScan
from hawk_dagster.storage.root import StorageRoot


def scan_packages(loaded: LoadedScan) -> list[str]:
    """pip requirements of the scan's environment: scanner and model packages, then ``packages``."""
    config = loaded.config
    groups: list[Any] = [*config.scanners, *(config.models or []), *config.model_roles.values()]
    specs = [g.package for g in groups if isinstance(g, (PackageScannerGroup, PackageModelGroup))]
    return resolve_package_specs([*specs, *config.packages], loaded.base_dir)


def _filter_json(f: TranscriptFilterConfig | None) -> dict[str, Any] | None:
    return None if f is None else f.model_dump(mode="json", exclude_none=True)


def scan_summary(loaded: LoadedScan) -> dict[str, Any]:
    """What the scan would run, as plain JSON (``hawk validate --format json``)."""
    config = loaded.config
    return {
        "kind": "scan",
        "scan_id": config.scan_id,
        "name": config.name,
        "scanners": [
            {
                "key": item.result_key,
                "scanner": scanner_registry_name(group, item),
                "args": dict(item.args),
                "filter": _filter_json(item.filter),
            }
            for group, item in config.scanner_items()
        ],
        "sources": [s.model_dump(mode="json", exclude_none=True) for s in config.transcripts.sources],
        "filter": _filter_json(config.transcripts.filter),
        "models": [spec.name for spec in _models(loaded)],
        "standing": config.standing,
        "schedule": config.schedule,
        "secrets": config.all_secret_names(),
        "packages": scan_packages(loaded),
    }


def _models(loaded: LoadedScan) -> list[Any]:
    return [model_spec(group, item) for group in loaded.config.models or [] for item in group.items]


def build_scan_plan(
    loaded: LoadedScan,
    *,
    scan_id: str,
    eval_set_id: str,
    log_dir: str,
    results_dir: str,
    transcript_ids: list[str] | None = None,
    scanner_transcript_ids: dict[str, list[str]] | None = None,
) -> ScanPlan:
    """The plan of one scan cell. ``transcript_ids`` (and per scanner key, ``scanner_transcript_ids``) carry the
    transcripts a limit chose at submission, restricted to this eval set."""
    validate_scan_id(scan_id)
    validate_eval_set_id(eval_set_id)
    config = loaded.config
    global_filter = config.transcripts.filter
    chosen = scanner_transcript_ids or {}
    scanners = []
    for group, item in config.scanner_items():
        own = item.filter
        scanners.append(
            ScannerSpec(
                key=item.result_key,
                name=scanner_registry_name(group, item),
                args=dict(item.args),
                # [] when the scanner's own filter has no conditions: it still replaces the scan's filter
                where=None if own is None else list(own.where or []),
                transcript_ids=chosen.get(item.result_key) if own is not None and own.limit else None,
            )
        )
    return ScanPlan(
        scan_id=scan_id,
        eval_set_id=eval_set_id,
        log_dir=log_dir,
        results_dir=results_dir,
        scanners=scanners,
        where=list(global_filter.where) if global_filter is not None and global_filter.where else None,
        transcript_ids=transcript_ids if global_filter is not None and global_filter.limit else None,
        models=_models(loaded),
        model_roles=role_models(config.model_roles),
        max_transcripts=config.max_transcripts,
        max_processes=config.max_processes or 1,
        tags=list(config.tags),
        metadata={**config.metadata, "scan_id": scan_id, "eval_set_id": eval_set_id},
        required_secrets=config.all_secret_names(),
        environment=dict(config.runner.environment),
        packages=scan_packages(loaded),
    )


def plan_for_scan_cell(storage: StorageRoot, scan: SubmittedScan, eval_set_id: str) -> ScanPlan:
    resolution = scan.resolution
    chosen_here = eval_set_id in resolution.eval_set_ids
    transcript_ids = None
    if resolution.transcript_ids is not None and chosen_here:
        transcript_ids = resolution.transcript_ids.get(eval_set_id, [])
    scanner_ids = {
        key: by_eval_set.get(eval_set_id, [])
        for key, by_eval_set in resolution.scanner_transcript_ids.items()
        if chosen_here
    }
    return build_scan_plan(
        scan.loaded,
        scan_id=scan.scan_id,
        eval_set_id=eval_set_id,
        log_dir=storage.eval_log_dir(eval_set_id),
        results_dir=storage.scan_results_dir(scan.scan_id, eval_set_id),
        transcript_ids=transcript_ids,
        scanner_transcript_ids=scanner_ids or None,
    )


def not_a_source_message(storage: StorageRoot, scan: SubmittedScan, eval_set_id: str) -> str | None:
    """Why the cell (scan, eval set) scans nothing, or None when the eval set is one of the scan's sources.

    ``scan_cells`` is every scan x every eval set, so a backfill of "missing" cells or a manual launch can name an
    eval set the scan never selected; its run must end at once, saying so, rather than scan it."""
    config, resolved = scan.loaded.config, scan.resolution.eval_set_ids
    if is_source(config, resolved, eval_set_id, eval_set_tags_of(storage, eval_set_id) or []):
        return None
    sources = eval_sets_to_scan(config, resolved, eval_set_tags(storage) if config.standing else {})
    shown = ", ".join(sources[:10]) + (f" and {len(sources) - 10} more" if len(sources) > 10 else "")
    return (
        f"not a source of this scan: scan {scan.scan_id!r} reads {shown or 'no eval set yet'}, not eval set "
        f"{eval_set_id!r}; nothing was scanned"
    )
